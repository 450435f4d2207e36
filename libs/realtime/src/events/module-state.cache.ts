// Change-dedupe cache of the events API: the last state of each module aspect, compared by value
// independently of key order; bounded, least recently used modules evicted first. Seeded at boot from
// the host's stored states, so that a restart does not turn the next unchanged update into an event.
import { LRUCache } from 'lru-cache';
import stringify from 'safe-stable-stringify';
import type { ModuleStateSnapshot } from '../protocol';

export type ModuleAspect = 'status' | 'definition' | 'telemetry';

const ASPECTS: readonly ModuleAspect[] = ['status', 'definition', 'telemetry'];

interface Entry {
  snapshot: ModuleStateSnapshot;
  fingerprints: Partial<Record<ModuleAspect, string>>;
}

export class ModuleStateCache {
  private readonly entries: LRUCache<string, Entry>;

  constructor(maxModules: number) {
    this.entries = new LRUCache<string, Entry>({ max: maxModules });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Records the aspect's new value; returns false when it equals the last recorded value. */
  update<A extends ModuleAspect>(
    moduleId: string,
    aspect: A,
    value: NonNullable<ModuleStateSnapshot[A]>,
  ): boolean {
    const entry = this.entries.get(moduleId) ?? { snapshot: { moduleId }, fingerprints: {} };
    if (!this.record(entry, aspect, value)) return false;
    this.entries.set(moduleId, entry);
    return true;
  }

  /**
   * Records the aspects of a stored state that the cache does not hold yet, without reporting a
   * change: a value recorded since (an event already sent) is newer than the store and is kept.
   */
  seed(state: ModuleStateSnapshot): void {
    const entry = this.entries.peek(state.moduleId) ?? {
      snapshot: { moduleId: state.moduleId },
      fingerprints: {},
    };
    for (const aspect of ASPECTS) {
      const value = state[aspect];
      if (value === undefined || entry.fingerprints[aspect] !== undefined) continue;
      this.record(entry, aspect, value);
    }
    if (!this.entries.has(state.moduleId)) this.entries.set(state.moduleId, entry);
  }

  forget(moduleId: string): void {
    this.entries.delete(moduleId);
  }

  get(moduleId: string): ModuleStateSnapshot | undefined {
    return this.entries.peek(moduleId)?.snapshot;
  }

  snapshot(): ModuleStateSnapshot[] {
    return [...this.entries.values()].map((entry) => structuredClone(entry.snapshot));
  }

  /** Sets the aspect on the entry; false when it already held an equal value. */
  private record<A extends ModuleAspect>(
    entry: Entry,
    aspect: A,
    value: NonNullable<ModuleStateSnapshot[A]>,
  ): boolean {
    const fingerprint = stringify(value) ?? '';
    if (entry.fingerprints[aspect] === fingerprint) return false;
    // A copy (made before the fingerprint is kept): the caller may mutate its object later; the
    // snapshot must show what was sent.
    entry.snapshot[aspect] = structuredClone(value);
    entry.fingerprints[aspect] = fingerprint;
    return true;
  }
}
