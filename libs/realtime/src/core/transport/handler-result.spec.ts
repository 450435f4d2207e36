import { Observable, interval, map, take, throwError } from 'rxjs';
import { forEachHandlerValue } from './handler-result';

describe('forEachHandlerValue', () => {
  async function collect(result: unknown): Promise<unknown[]> {
    const values: unknown[] = [];
    await forEachHandlerValue(result, (value) => values.push(value));
    return values;
  }

  it('gives a plain value, or what a promise resolves to, once', async () => {
    expect(await collect({ event: 'pong', data: 1 })).toEqual([{ event: 'pong', data: 1 }]);
    expect(await collect(Promise.resolve('ack'))).toEqual(['ack']);
    expect(await collect(undefined)).toEqual([undefined]);
  });

  it('gives every value of an observable in order, and settles only once it completes', async () => {
    const values: unknown[] = [];
    let settled = false;
    const done = forEachHandlerValue(
      Promise.resolve(
        interval(5).pipe(
          take(3),
          map((i) => ({ event: 'count', data: i })),
        ),
      ),
      (value) => values.push(value),
    ).then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 7));
    expect(settled).toBe(false);
    await done;
    expect(values).toEqual([0, 1, 2].map((i) => ({ event: 'count', data: i })));
  });

  it('rejects with the error of the promise or of the observable', async () => {
    await expect(collect(Promise.reject(new Error('failed')))).rejects.toThrow('failed');
    const values: unknown[] = [];
    const failing = new Observable<number>((subscriber) => {
      subscriber.next(1);
      subscriber.error(new Error('broke'));
    });
    await expect(forEachHandlerValue(failing, (value) => values.push(value))).rejects.toThrow('broke');
    expect(values).toEqual([1]);
    await expect(collect(throwError(() => new Error('at once')))).rejects.toThrow('at once');
  });
});
