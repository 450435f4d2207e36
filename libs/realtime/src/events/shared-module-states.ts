// The events API's change dedupe for a deployment (with `redis`): the last state of each module
// aspect, as stable JSON (key order ignored), in one Redis hash shared by every node. A change is
// recorded by compare-and-set in one script, so that when two nodes get the same update only one sends
// it, and rt_sync reads the same states whichever node a client reaches.
import type { ModuleStateSnapshot } from '../protocol';
import type { RealtimeRedisClients } from '../core/scale-out/redis-clients.provider';
import type { ModuleAspect } from './module-state.cache';

const ASPECTS: readonly ModuleAspect[] = ['status', 'definition', 'telemetry'];
const SEPARATOR = '\n';

// KEYS: the states hash. ARGV: field, stable JSON. 1 when recorded (it differed), 0 when equal.
const SET_IF_CHANGED = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

// KEYS: the states hash. ARGV: field, stable JSON pairs. The host's stored states are the truth at
// boot: a state recorded before a full restart may be stale.
const SEED = `
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`;

function fieldOf(moduleId: string, aspect: ModuleAspect): string {
  return moduleId + SEPARATOR + aspect;
}

export class SharedModuleStates {
  private readonly key: string;

  constructor(private readonly redis: RealtimeRedisClients) {
    this.key = `${redis.keyPrefix}:module-states`;
  }

  /** Records the aspect's value (its stable JSON); resolves false when it equals the recorded one. */
  async update(moduleId: string, aspect: ModuleAspect, fingerprint: string): Promise<boolean> {
    const changed = await this.redis.pub.eval(
      SET_IF_CHANGED,
      1,
      this.key,
      fieldOf(moduleId, aspect),
      fingerprint,
    );
    return changed === 1;
  }

  /** Records the host's stored states as the deployment's last states. */
  async seed(
    states: ReadonlyArray<{ moduleId: string; fingerprints: Partial<Record<ModuleAspect, string>> }>,
  ): Promise<void> {
    const pairs: string[] = [];
    for (const { moduleId, fingerprints } of states) {
      for (const aspect of ASPECTS) {
        const fingerprint = fingerprints[aspect];
        if (fingerprint !== undefined) pairs.push(fieldOf(moduleId, aspect), fingerprint);
      }
    }
    // In slices: a script's arguments are bounded by Lua's stack (a few thousand is safe).
    for (let start = 0; start < pairs.length; start += 2000) {
      await this.redis.pub.eval(SEED, 1, this.key, ...pairs.slice(start, start + 2000));
    }
  }

  async forget(moduleId: string): Promise<void> {
    await this.redis.pub.eval(
      `for i = 1, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end return 1`,
      1,
      this.key,
      ...ASPECTS.map((aspect) => fieldOf(moduleId, aspect)),
    );
  }

  /** Every module's recorded state. */
  async snapshot(): Promise<ModuleStateSnapshot[]> {
    const all = await this.redis.pub.hgetall(this.key);
    const modules = new Map<string, ModuleStateSnapshot>();
    for (const [field, json] of Object.entries(all)) {
      const cut = field.lastIndexOf(SEPARATOR);
      const moduleId = field.slice(0, cut);
      const aspect = field.slice(cut + 1) as ModuleAspect;
      if (!ASPECTS.includes(aspect)) continue;
      const snapshot = modules.get(moduleId) ?? { moduleId };
      (snapshot as Record<ModuleAspect, unknown>)[aspect] = JSON.parse(json) as unknown;
      modules.set(moduleId, snapshot);
    }
    return [...modules.values()];
  }
}
