// ModuleStateCache: change detection by value (key order ignored), independent aspects, forgetting,
// a bounded size with least recently used modules evicted first, and seeding from stored states.
import { ModuleStateCache } from './module-state.cache';

describe('ModuleStateCache', () => {
  let cache: ModuleStateCache;

  beforeEach(() => {
    cache = new ModuleStateCache(100);
  });

  it('reports the first value of an aspect as a change', () => {
    expect(cache.update('m1', 'status', 'online')).toBe(true);
    expect(cache.get('m1')).toEqual({ moduleId: 'm1', status: 'online' });
  });

  it('does not report the same value twice', () => {
    cache.update('m1', 'status', 'online');
    expect(cache.update('m1', 'status', 'online')).toBe(false);
  });

  it('reports a different value', () => {
    cache.update('m1', 'status', 'online');
    expect(cache.update('m1', 'status', 'offline')).toBe(true);
    expect(cache.get('m1')?.status).toBe('offline');
  });

  it('treats the same object with keys in another order as unchanged', () => {
    cache.update('m1', 'telemetry', { temp: 21, humidity: 40, meta: { a: 1, b: [1, 2] } });
    expect(cache.update('m1', 'telemetry', { meta: { b: [1, 2], a: 1 }, humidity: 40, temp: 21 })).toBe(
      false,
    );
  });

  it('reports a change deep inside a nested value', () => {
    cache.update('m1', 'telemetry', { sensors: { inner: { temp: 21 } } });
    expect(cache.update('m1', 'telemetry', { sensors: { inner: { temp: 22 } } })).toBe(true);
    expect(cache.get('m1')?.telemetry).toEqual({ sensors: { inner: { temp: 22 } } });
  });

  it('reports a change in the order of an array', () => {
    cache.update('m1', 'telemetry', { readings: [1, 2, 3] });
    expect(cache.update('m1', 'telemetry', { readings: [3, 2, 1] })).toBe(true);
  });

  it('reports an added or removed key', () => {
    cache.update('m1', 'telemetry', { temp: 21 });
    expect(cache.update('m1', 'telemetry', { temp: 21, humidity: 40 })).toBe(true);
    expect(cache.update('m1', 'telemetry', { temp: 21 })).toBe(true);
  });

  it('keeps the aspects of a module independent', () => {
    expect(cache.update('m1', 'status', 'online')).toBe(true);
    expect(cache.update('m1', 'definition', { name: 'Pump', type: 'pump' })).toBe(true);
    expect(cache.update('m1', 'telemetry', { temp: 21 })).toBe(true);

    expect(cache.update('m1', 'status', 'online')).toBe(false);
    expect(cache.update('m1', 'definition', { type: 'pump', name: 'Pump' })).toBe(false);
    expect(cache.update('m1', 'telemetry', { temp: 22 })).toBe(true);
    expect(cache.get('m1')).toEqual({
      moduleId: 'm1',
      status: 'online',
      definition: { name: 'Pump', type: 'pump' },
      telemetry: { temp: 22 },
    });
  });

  it('keeps modules independent', () => {
    cache.update('m1', 'status', 'online');
    expect(cache.update('m2', 'status', 'online')).toBe(true);
  });

  it('forgets a module: its next value is a change again', () => {
    cache.update('m1', 'status', 'online');
    cache.forget('m1');
    expect(cache.get('m1')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.update('m1', 'status', 'online')).toBe(true);
  });

  it('ignores forgetting an unknown module', () => {
    cache.update('m1', 'status', 'online');
    cache.forget('unknown');
    expect(cache.size).toBe(1);
  });

  describe('seed', () => {
    it('makes a stored value the one the next update is compared with', () => {
      cache.seed({ moduleId: 'm1', status: 'online', definition: { name: 'Pump', type: 'pump' } });

      expect(cache.update('m1', 'status', 'online')).toBe(false);
      expect(cache.update('m1', 'definition', { type: 'pump', name: 'Pump' })).toBe(false);
      expect(cache.update('m1', 'definition', { name: 'Main pump', type: 'pump' })).toBe(true);
    });

    it('records only the aspects the stored state holds', () => {
      cache.seed({ moduleId: 'm1', telemetry: { temp: 21 } });

      expect(cache.get('m1')).toEqual({ moduleId: 'm1', telemetry: { temp: 21 } });
      expect(cache.update('m1', 'status', 'offline')).toBe(true);
    });

    it('keeps a value recorded before the seed: an event already sent is newer than the store', () => {
      cache.update('m1', 'status', 'offline');
      cache.seed({ moduleId: 'm1', status: 'online', telemetry: { temp: 21 } });

      expect(cache.get('m1')).toEqual({ moduleId: 'm1', status: 'offline', telemetry: { temp: 21 } });
      expect(cache.update('m1', 'status', 'offline')).toBe(false);
      expect(cache.update('m1', 'telemetry', { temp: 21 })).toBe(false);
    });

    it('keeps a copy: the stored object changing later does not change the cache', () => {
      const telemetry = { temp: 21 };
      cache.seed({ moduleId: 'm1', telemetry });
      telemetry.temp = 99;
      expect(cache.update('m1', 'telemetry', { temp: 21 })).toBe(false);
    });

    it('stays within the maximum size', () => {
      const small = new ModuleStateCache(2);
      for (const moduleId of ['m1', 'm2', 'm3']) small.seed({ moduleId, status: 'offline' });
      expect(small.size).toBe(2);
      expect(small.get('m1')).toBeUndefined();
    });
  });

  describe('bounded size', () => {
    it('never holds more modules than its maximum', () => {
      const small = new ModuleStateCache(3);
      for (let i = 0; i < 10; i += 1) {
        small.update(`m${i}`, 'status', 'online');
        expect(small.size).toBeLessThanOrEqual(3);
      }
      expect(small.size).toBe(3);
      expect(small.snapshot().map((s) => s.moduleId)).toEqual(expect.arrayContaining(['m7', 'm8', 'm9']));
    });

    it('evicts the least recently updated module', () => {
      const small = new ModuleStateCache(2);
      small.update('m1', 'status', 'online');
      small.update('m2', 'status', 'online');
      // m1 is used again (even an unchanged value counts as use), so m2 is now the least recently used.
      expect(small.update('m1', 'status', 'online')).toBe(false);
      small.update('m3', 'status', 'online');

      expect(small.get('m2')).toBeUndefined();
      expect(small.get('m1')).toEqual({ moduleId: 'm1', status: 'online' });
      expect(small.get('m3')).toEqual({ moduleId: 'm3', status: 'online' });
      expect(small.update('m1', 'status', 'online')).toBe(false);
      expect(small.update('m2', 'status', 'online')).toBe(true);
    });

    it('does not count reading a module as use', () => {
      const small = new ModuleStateCache(2);
      small.update('m1', 'status', 'online');
      small.update('m2', 'status', 'online');
      small.get('m1');
      small.update('m3', 'status', 'online');
      expect(small.get('m1')).toBeUndefined();
      expect(small.get('m2')).toBeDefined();
    });
  });

  describe('snapshot', () => {
    it('is empty for an empty cache', () => {
      expect(cache.snapshot()).toEqual([]);
    });

    it('lists the last known state of every module', () => {
      cache.update('m1', 'status', 'online');
      cache.update('m1', 'telemetry', { temp: 21 });
      cache.update('m2', 'definition', { name: 'Fan', type: 'fan' });
      cache.update('m2', 'status', 'offline');

      expect(cache.snapshot()).toEqual(
        expect.arrayContaining([
          { moduleId: 'm1', status: 'online', telemetry: { temp: 21 } },
          { moduleId: 'm2', status: 'offline', definition: { name: 'Fan', type: 'fan' } },
        ]),
      );
      expect(cache.snapshot()).toHaveLength(2);
    });

    it('returns copies: changing a snapshot entry does not change the cache', () => {
      cache.update('m1', 'status', 'online');
      const [entry] = cache.snapshot();
      if (!entry) throw new Error('snapshot is empty');
      entry.status = 'offline';
      expect(cache.get('m1')?.status).toBe('online');
    });
  });
});
