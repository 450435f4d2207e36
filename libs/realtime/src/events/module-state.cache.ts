// Change-dedupe cache of the events API: the last state of each module aspect, compared by value
// independently of key order; bounded, least recently used modules evicted first.
import { LRUCache } from 'lru-cache';
import stringify from 'safe-stable-stringify';
import type { ModuleStateSnapshot } from '../protocol';

export type ModuleAspect = 'status' | 'definition' | 'telemetry';

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
    const fingerprint = stringify(value) ?? '';
    const entry = this.entries.get(moduleId) ?? { snapshot: { moduleId }, fingerprints: {} };
    if (entry.fingerprints[aspect] === fingerprint) return false;
    // A copy (made before the fingerprint is kept): the caller may mutate its object later; the
    // snapshot must show what was sent.
    entry.snapshot[aspect] = structuredClone(value);
    entry.fingerprints[aspect] = fingerprint;
    this.entries.set(moduleId, entry);
    return true;
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
}
