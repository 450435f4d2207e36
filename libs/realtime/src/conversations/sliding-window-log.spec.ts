// SlidingWindowLog: counts what is inside the window, forgets what left it, and says when the
// oldest counted message leaves.
import { SlidingWindowLog } from './sliding-window-log';

describe('SlidingWindowLog', () => {
  it('counts the messages of the last window only', () => {
    const log = new SlidingWindowLog(1000);
    log.add(0);
    log.add(400);
    log.add(900);
    expect(log.count(900)).toBe(3);
    expect(log.count(1000)).toBe(2);
    expect(log.count(1400)).toBe(1);
    expect(log.count(1900)).toBe(0);
  });

  it('tells how long until the oldest counted message leaves the window', () => {
    const log = new SlidingWindowLog(60_000);
    expect(log.msUntilOldestExpires(0)).toBe(0);
    log.add(1000);
    log.add(5000);
    expect(log.msUntilOldestExpires(10_000)).toBe(51_000);
    expect(log.msUntilOldestExpires(61_000)).toBe(4000);
  });

  it('keeps counting right across compactions of a long log', () => {
    const log = new SlidingWindowLog(100);
    for (let t = 0; t < 5000; t += 1) {
      log.add(t);
      expect(log.count(t)).toBe(Math.min(t + 1, 100));
    }
  });

  it('keeps its order when the clock steps back', () => {
    const log = new SlidingWindowLog(1000);
    log.add(500);
    log.add(400);
    expect(log.count(1499)).toBe(2);
    expect(log.count(1500)).toBe(0);
  });
});
