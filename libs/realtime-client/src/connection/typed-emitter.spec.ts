// The typed emitter: subscribe, once, unsubscribe, and a throwing listener that does not stop the others.
import { TypedEmitter } from './typed-emitter';

interface Events {
  tick: number;
}

describe('TypedEmitter', () => {
  afterEach(() => jest.useRealTimers());

  it('delivers to every listener until it unsubscribes; once() fires once', () => {
    const emitter = new TypedEmitter<Events>();
    const seen: string[] = [];
    const off = emitter.on('tick', (n) => seen.push(`on:${n}`));
    emitter.once('tick', (n) => seen.push(`once:${n}`));
    emitter.emit('tick', 1);
    off();
    emitter.emit('tick', 2);
    expect(seen).toEqual(['on:1', 'once:1']);
    expect(emitter.listenerCount('tick')).toBe(0);
  });

  it('keeps delivering after a listener throws, and rethrows that error asynchronously', () => {
    jest.useFakeTimers();
    const emitter = new TypedEmitter<Events>();
    const after = jest.fn();
    emitter.on('tick', () => {
      throw new Error('listener bug');
    });
    emitter.on('tick', after);
    emitter.emit('tick', 1);
    expect(after).toHaveBeenCalledWith(1);
    expect(() => jest.runOnlyPendingTimers()).toThrow('listener bug');
  });
});
