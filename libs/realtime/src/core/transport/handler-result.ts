// What a gateway handler may return, taken as Nest's own adapters take it: a value, a promise of one,
// or an observable whose every value counts. Both transports go through here, without an RxJS chain
// per message for the usual promise.
import { isObservable } from 'rxjs';

/**
 * Gives `emit` the handler's value, or each value of its observable as it comes; settles once every
 * value was given (rejects with the promise's or the observable's error).
 */
export async function forEachHandlerValue(result: unknown, emit: (value: unknown) => void): Promise<void> {
  const settled: unknown = await result;
  if (!isObservable(settled)) {
    emit(settled);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    settled.subscribe({ next: emit, error: reject, complete: resolve });
  });
}
