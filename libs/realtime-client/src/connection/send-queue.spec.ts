// The bounded send queue: order kept, QUEUE_FULL past the bound, every item either run or failed.
import { RealtimeClientError } from './realtime-client.error';
import { BoundedSendQueue } from './send-queue';

describe('BoundedSendQueue', () => {
  it('runs queued sends in order on flush, once', () => {
    const queue = new BoundedSendQueue(3);
    const order: number[] = [];
    for (const n of [1, 2, 3]) queue.push({ run: () => order.push(n), fail: jest.fn() });
    queue.flush();
    queue.flush();
    expect(order).toEqual([1, 2, 3]);
    expect(queue.size).toBe(0);
  });

  it('refuses the item past the bound with QUEUE_FULL and keeps the others', () => {
    const queue = new BoundedSendQueue(2);
    queue.push({ run: jest.fn(), fail: jest.fn() });
    queue.push({ run: jest.fn(), fail: jest.fn() });
    let thrown: unknown;
    try {
      queue.push({ run: jest.fn(), fail: jest.fn() });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RealtimeClientError);
    expect(thrown).toMatchObject({ code: 'QUEUE_FULL', details: { capacity: 2 } });
    expect(queue.size).toBe(2);
  });

  it('fails every item on failAll', () => {
    const queue = new BoundedSendQueue(5);
    const fails = [jest.fn(), jest.fn()];
    for (const fail of fails) queue.push({ run: jest.fn(), fail });
    const error = new RealtimeClientError('NOT_CONNECTED', 'closed');
    queue.failAll(error);
    for (const fail of fails) expect(fail).toHaveBeenCalledWith(error);
    expect(queue.size).toBe(0);
  });
});
