// PendingRequests: a request sent with a ref is settled only by that ref, whatever its matcher says;
// without refs the matcher and the oldest-request rule apply; settled requests stop their timer.
import { ClientErrorCode, RealtimeClientError } from './realtime-client.error';
import { PendingRequests } from './pending-requests';

interface Frame {
  type: string;
  n: number;
}

describe('PendingRequests', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const anyFrame = (): boolean => true;
  const refused = new RealtimeClientError(ClientErrorCode.TIMEOUT, 'refused');

  it('resolves the request with this ref, not the oldest one that matches', async () => {
    const pending = new PendingRequests<Frame>(1000);
    const first = pending.add('first', anyFrame, 'a');
    const second = pending.add('second', anyFrame, 'b');
    expect(pending.resolveRef('b', { type: 'x', n: 2 })).toBe(true);
    expect(pending.resolveRef('b', { type: 'x', n: 3 })).toBe(false);
    expect(pending.resolveRef('a', { type: 'x', n: 1 })).toBe(true);
    await expect(first).resolves.toEqual({ type: 'x', n: 1 });
    await expect(second).resolves.toEqual({ type: 'x', n: 2 });
    expect(pending.size).toBe(0);
  });

  it('rejects the request with this ref and leaves the others waiting', async () => {
    const pending = new PendingRequests<Frame>(1000);
    const first = pending.add('first', anyFrame, 'a');
    const second = pending.add('second', anyFrame, 'b');
    expect(pending.rejectRef('b', refused)).toBe(true);
    expect(pending.rejectRef('unknown', refused)).toBe(false);
    await expect(second).rejects.toBe(refused);
    expect(pending.size).toBe(1);
    expect(pending.resolveMatching({ type: 'x', n: 1 })).toBe(true);
    await expect(first).resolves.toEqual({ type: 'x', n: 1 });
  });

  it('clears the timeout of a request settled by its ref', async () => {
    const pending = new PendingRequests<Frame>(1000);
    const request = pending.add('request', anyFrame, 'a');
    pending.resolveRef('a', { type: 'x', n: 1 });
    expect(jest.getTimerCount()).toBe(0);
    await expect(request).resolves.toEqual({ type: 'x', n: 1 });
  });

  it('times out a request whose ref never comes back', async () => {
    const pending = new PendingRequests<Frame>(1000);
    const request = pending.add('join_room', anyFrame, 'a');
    jest.advanceTimersByTime(1000);
    await expect(request).rejects.toMatchObject({ code: ClientErrorCode.TIMEOUT });
    expect(pending.resolveRef('a', { type: 'x', n: 1 })).toBe(false);
  });
});
