// The bounded per-app buffer behind the backlog.
import type { LogEntry } from '../protocol';
import { LogBuffer } from './log-buffer';
import { InMemoryLogStore } from './log-store';

const entry = (n: number, appId = 'app'): LogEntry => ({
  id: String(n).padStart(4, '0'),
  timestamp: n,
  level: 'info',
  message: `m${n}`,
  appId,
  userId: 'system',
});

describe('LogBuffer', () => {
  it('keeps the newest entries up to its capacity, oldest first', () => {
    const buffer = new LogBuffer(3);
    for (let n = 1; n <= 5; n++) buffer.push(entry(n));
    expect(buffer.size).toBe(3);
    expect(buffer.recent(10).map((e) => e.timestamp)).toEqual([3, 4, 5]);
  });

  it('returns only the newest `limit` entries, and none for a limit of 0', () => {
    const buffer = new LogBuffer(10);
    for (let n = 1; n <= 4; n++) buffer.push(entry(n));
    expect(buffer.recent(2).map((e) => e.timestamp)).toEqual([3, 4]);
    expect(buffer.recent(0)).toEqual([]);
  });

  it('stays correct across many wrap-arounds', () => {
    const buffer = new LogBuffer(4);
    for (let n = 1; n <= 1003; n++) buffer.push(entry(n));
    expect(buffer.recent(4).map((e) => e.timestamp)).toEqual([1000, 1001, 1002, 1003]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new LogBuffer(0)).toThrow(RangeError);
    expect(() => new LogBuffer(1.5)).toThrow(RangeError);
  });
});

describe('InMemoryLogStore', () => {
  it('bounds every app separately and never mixes them', () => {
    const store = new InMemoryLogStore(2);
    store.append('a', [entry(1, 'a'), entry(2, 'a'), entry(3, 'a')]);
    store.append('b', [entry(9, 'b')]);
    expect(store.recent('a', 10).map((e) => e.timestamp)).toEqual([2, 3]);
    expect(store.recent('b', 10).map((e) => e.appId)).toEqual(['b']);
    expect(store.recent('unknown', 10)).toEqual([]);
  });

  it('names the oldest entry an app keeps once its buffer is full, and none before', () => {
    const store = new InMemoryLogStore(3);
    store.append('a', [entry(1, 'a'), entry(2, 'a')]);
    expect(store.oldestKept('a')).toBeUndefined();
    store.append('a', [entry(3, 'a')]);
    expect(store.oldestKept('a')?.timestamp).toBe(1);
    store.append('a', [entry(4, 'a'), entry(5, 'a')]);
    expect(store.oldestKept('a')?.timestamp).toBe(3);
    expect(store.oldestKept('unknown')).toBeUndefined();
  });
});
