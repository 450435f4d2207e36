// Who is online, for the whole deployment. One node: the connection registry of this process, as
// it always was. With `redis`: every node counts its connections in Redis (per user, per room and
// user, per transport), in one hash of its own and in deployment-wide hashes, by Lua scripts so that a
// count and its transition are one atomic step. A transition (a user's first connection anywhere, or
// their last one closing) is seen by exactly one node, which announces it to the deployment. Each node
// renews its entry in a sorted set of live nodes; one whose entry expired (killed, cut from Redis, or
// shut down) is claimed by the first node that sweeps, which takes its counts back out and announces
// the users who went offline with it. A node whose change was not counted (Redis failed) or that was
// counted out while cut from Redis resyncs: its counts in Redis are set to what it holds.
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { randomUUID } from 'crypto';
import { LRUCache } from 'lru-cache';
import { Subject, type Observable, type Subscription } from 'rxjs';
import { RealtimeErrorCode } from '../../protocol';
import { REALTIME_OPTIONS } from '../../realtime.constants';
import type { ResolvedRealtimeOptions } from '../../realtime.options';
import type { RealtimeIdentity } from '../auth/realtime-identity';
import {
  ConnectionRegistry,
  type ConnectionChange,
  type RealtimeTransport,
} from '../connection-registry.service';
import { RealtimeError } from '../errors/realtime-error';
import { REALTIME_REDIS, type RealtimeRedisClients } from './redis-clients.provider';
import { RedisRelay } from './redis-relay';

/** A user came online (first connection in the deployment) or went offline (last one closed). */
export interface UserTransition {
  online: boolean;
  userId: string;
  username: string;
  /** Epoch milliseconds of the transition. */
  at: number;
  /** Orders the transitions of a user (and of a room and user): a lower one arriving later is stale. */
  version: number;
  /** Whether this node saw the transition (it stores the user's lastSeen); the other nodes hear of it. */
  observed: boolean;
}

/** A user's first connection joined a room, or their last one left it (anywhere in the deployment). */
export interface RoomTransition {
  joined: boolean;
  room: string;
  userId: string;
  username: string;
  version: number;
}

export interface DeploymentStats {
  activeUsers: number;
  connections: number;
  connectionsByTransport: { socketIo: number; ws: number };
}

/** What the nodes tell each other: room transitions to deliver, and "figures changed" notices. */
type PresenceNotice =
  | { kind: 'user'; transition: UserTransition }
  | { kind: 'room'; transition: RoomTransition }
  | { kind: 'changed' };

/** Transitions remembered per user (or room and user) to tell a stale one. */
const VERSIONS_KEPT = 100_000;

/** Field prefixes in the hashes: u = user, r = room and user, t = transport. */
const USER = 'u';
const ROOM = 'r';
const TRANSPORT = 't';
const SEPARATOR = '\n';

// KEYS: node hash, users hash, rooms hash, transports hash, nodes sorted set, version counter. ARGV:
// node id, delta, then fields. Returns the change's version (one counter orders every transition of
// the deployment), then the deployment-wide count of each field after it; -1: not counted (this node
// is out of the set of live nodes, or no longer held the field): the node resyncs.
const CHANGE_SCRIPT = `
if not redis.call('ZSCORE', KEYS[5], ARGV[1]) then return {-1} end
local delta = tonumber(ARGV[2])
local out = {redis.call('INCR', KEYS[6])}
for i = 3, #ARGV do
  local f = ARGV[i]
  local p = string.sub(f, 1, 1)
  local g = KEYS[4]
  if p == 'u' then g = KEYS[2] elseif p == 'r' then g = KEYS[3] end
  local n = redis.call('HINCRBY', KEYS[1], f, delta)
  if n <= 0 then redis.call('HDEL', KEYS[1], f) end
  if n < 0 then
    out[#out + 1] = -1
  else
    local c = redis.call('HINCRBY', g, f, delta)
    if c <= 0 then redis.call('HDEL', g, f); c = 0 end
    out[#out + 1] = c
  end
end
return out
`;

// KEYS: nodes sorted set, users hash, rooms hash, transports hash, the node's hash, version counter.
// ARGV: node id. Takes a node's counts out of the deployment once (the ZREM decides who claims it);
// returns the version, then the fields that fell to zero.
const CLAIM_SCRIPT = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return {} end
local all = redis.call('HGETALL', KEYS[5])
local out = {redis.call('INCR', KEYS[6])}
for i = 1, #all, 2 do
  local f = all[i]
  local p = string.sub(f, 1, 1)
  local g = KEYS[4]
  if p == 'u' then g = KEYS[2] elseif p == 'r' then g = KEYS[3] end
  local c = redis.call('HINCRBY', g, f, -tonumber(all[i + 1]))
  if c <= 0 then redis.call('HDEL', g, f); out[#out + 1] = f end
end
redis.call('DEL', KEYS[5])
return out
`;

// KEYS: nodes sorted set. ARGV: node id, expiry in ms. Renews this node on Redis' clock (the nodes'
// clocks may differ) when it is in the set, and lists the nodes whose entry expired. First element:
// 1 when this node is not in the set (first beat, or counted out while cut from Redis): it resyncs.
const BEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local missing = 1
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  missing = 0
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
table.insert(dead, 1, missing)
return dead
`;

// KEYS: nodes sorted set, users hash, rooms hash, transports hash, the node's hash. ARGV: node id,
// expiry in ms, then field and count pairs: everything this node holds. Makes the node's counts in
// the deployment equal to that snapshot (applying the difference to the deployment's counts) and
// (re)enters the node in the set; returns the version, the fields that came online and those that
// fell to zero. KEYS[6]: version counter.
const RESYNC_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = {}
local all = redis.call('HGETALL', KEYS[5])
for i = 1, #all, 2 do old[all[i]] = tonumber(all[i + 1]) end
local new = {}
for i = 3, #ARGV, 2 do new[ARGV[i]] = tonumber(ARGV[i + 1]) end
local up, down = {}, {}
local function apply(f, d)
  if d == 0 then return end
  local p = string.sub(f, 1, 1)
  local g = KEYS[4]
  if p == 'u' then g = KEYS[2] elseif p == 'r' then g = KEYS[3] end
  local before = tonumber(redis.call('HGET', g, f) or '0')
  local c = redis.call('HINCRBY', g, f, d)
  if c <= 0 then redis.call('HDEL', g, f) end
  if before <= 0 and c > 0 then up[#up + 1] = f end
  if before > 0 and c <= 0 then down[#down + 1] = f end
end
for f, n in pairs(new) do apply(f, n - (old[f] or 0)) end
for f, n in pairs(old) do if new[f] == nil then apply(f, -n) end end
redis.call('DEL', KEYS[5])
for f, n in pairs(new) do redis.call('HSET', KEYS[5], f, n) end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return {redis.call('INCR', KEYS[6]), up, down}
`;

function transportField(transport: RealtimeTransport): string {
  return TRANSPORT + transport;
}

function roomField(room: string, userId: string): string {
  return ROOM + room + SEPARATOR + userId;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

@Injectable()
export class DeploymentPresence
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Presence');
  private readonly users = new Subject<UserTransition>();
  private readonly rooms = new Subject<RoomTransition>();
  private readonly changes = new Subject<void>();
  private readonly node = randomUUID();
  private readonly relay: RedisRelay<PresenceNotice> | null;
  private readonly keys: {
    nodes: string;
    users: string;
    rooms: string;
    transports: string;
    names: string;
    version: string;
    nodeHash: (node: string) => string;
  } | null;
  private subscription: Subscription | null = null;
  private beat: NodeJS.Timeout | null = null;
  private retired = false;
  /** A change was not counted in Redis (it failed, or this node was out of the set): resync at the next beat. */
  private dirty = false;
  private noticeTimer: NodeJS.Timeout | null = null;
  /** The latest version delivered per user (and room and user); one node counts its own. */
  private readonly delivered = new LRUCache<string, number>({ max: VERSIONS_KEPT });
  private localVersion = 0;
  /** Local room memberships, for the snapshot a resync sends. */
  private localRooms: (() => Iterable<{ room: string; identity: RealtimeIdentity }>) | null = null;

  /**
   * Every user transition of the deployment, on every node, in order per user (a stale one is
   * dropped); `observed` on the one node that saw it.
   */
  readonly users$: Observable<UserTransition> = this.users.asObservable();
  /** Every room transition of the deployment, on every node (to deliver to its members there). */
  readonly rooms$: Observable<RoomTransition> = this.rooms.asObservable();
  /** Some figure of `stats()` may have changed, on any node. */
  readonly changes$: Observable<void> = this.changes.asObservable();

  constructor(
    private readonly registry: ConnectionRegistry,
    @Inject(REALTIME_REDIS) private readonly redis: RealtimeRedisClients | null,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {
    if (redis) {
      const prefix = `${redis.keyPrefix}:presence`;
      this.keys = {
        nodes: `${prefix}:nodes`,
        users: `${prefix}:users`,
        rooms: `${prefix}:rooms`,
        transports: `${prefix}:transports`,
        names: `${prefix}:names`,
        version: `${prefix}:version`,
        nodeHash: (node) => `${prefix}:node:${node}`,
      };
      this.relay = new RedisRelay<PresenceNotice>(redis, 'presence', (notice) => this.received(notice));
    } else {
      this.keys = null;
      this.relay = null;
    }
  }

  /** Whether presence is counted across nodes (with `redis`). */
  get distributed(): boolean {
    return this.redis !== null;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = this.registry.changes$.subscribe((change) => this.onConnectionChange(change));
    if (!this.relay) return;
    await this.relay.start();
    await this.heartbeat();
    const every = Math.max(250, Math.floor(this.options.redis!.nodeExpiryMs / 3));
    this.beat = setInterval(() => void this.heartbeat(), every);
    this.beat.unref();
  }

  /**
   * Leaving the deployment: this node marks its entry expired and stops counting. The next sweep of
   * another node (within a third of `redis.nodeExpiryMs`) takes its counts out and announces the users
   * who went offline with it, while this node's own listeners are already going away.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = null;
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
    if (this.noticeTimer) clearTimeout(this.noticeTimer);
    this.noticeTimer = null;
    if (!this.redis || !this.keys || this.retired) return;
    this.retired = true;
    this.relay?.stop();
    try {
      await this.redis.pub.eval(
        `if redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('ZADD', KEYS[1], 0, ARGV[1]) end return 1`,
        1,
        this.keys.nodes,
        this.node,
      );
    } catch (error) {
      this.logger.warn(`Could not mark this node as leaving in Redis: ${errorText(error)}`);
    }
  }

  onApplicationShutdown(): void {
    this.users.complete();
    this.rooms.complete();
    this.changes.complete();
  }

  /** Lets the rooms tell which memberships this node holds (counted again after a sweep). */
  trackRooms(source: () => Iterable<{ room: string; identity: RealtimeIdentity }>): void {
    this.localRooms = source;
  }

  async stats(): Promise<DeploymentStats> {
    if (!this.redis || !this.keys) {
      const byTransport = this.registry.countByTransport();
      return {
        activeUsers: this.registry.activeUsers,
        connections: this.registry.size,
        connectionsByTransport: byTransport,
      };
    }
    const [users, transports] = await Promise.all([
      this.redis.pub.hgetall(this.keys.users),
      this.redis.pub.hgetall(this.keys.transports),
    ]);
    const socketIo = Number(transports[transportField('socket.io')] ?? 0);
    const ws = Number(transports[transportField('ws')] ?? 0);
    return {
      activeUsers: Object.keys(users).length,
      connections: socketIo + ws,
      connectionsByTransport: { socketIo, ws },
    };
  }

  /** Every user online in the deployment, with the username of their latest connection. */
  async onlineUsers(): Promise<Array<{ userId: string; username: string }>> {
    if (!this.redis || !this.keys) return this.registry.onlineUsers();
    const fields = Object.keys(await this.redis.pub.hgetall(this.keys.users));
    const ids = fields.map((field) => field.slice(USER.length));
    if (ids.length === 0) return [];
    const names = await this.redis.pub.hmget(this.keys.names, ...ids);
    return ids.map((userId, index) => ({ userId, username: names[index] ?? userId }));
  }

  /** A connection of this node joined a room (only with `redis`; one node counts in RoomMembersRegistry). */
  roomJoined(room: string, identity: RealtimeIdentity): void {
    void this.change(1, [roomField(room, identity.userId)]).then((answer) => {
      if (answer?.counts[0] === 1) {
        this.announceRoom({ joined: true, room, ...this.who(identity), version: answer.version });
      }
    });
  }

  /** A connection of this node left a room (or closed while in it). */
  roomLeft(room: string, identity: RealtimeIdentity): void {
    void this.change(-1, [roomField(room, identity.userId)]).then((answer) => {
      if (answer?.counts[0] === 0) {
        this.announceRoom({ joined: false, room, ...this.who(identity), version: answer.version });
      }
    });
  }

  private who(identity: RealtimeIdentity): { userId: string; username: string } {
    return { userId: identity.userId, username: identity.username };
  }

  private onConnectionChange(change: ConnectionChange): void {
    const { entry } = change;
    const { userId, username } = entry.identity;
    if (!this.redis || !this.keys) {
      const online =
        change.kind === 'connected' && change.userConnections === 1
          ? true
          : change.kind === 'disconnected' && change.userConnections === 0
            ? false
            : null;
      if (online !== null) {
        this.localVersion += 1;
        this.users.next({
          online,
          userId,
          username,
          at: Date.now(),
          version: this.localVersion,
          observed: true,
        });
      }
      this.changes.next();
      return;
    }
    if (this.retired) return;
    const connected = change.kind === 'connected';
    if (connected) {
      this.redis.pub.hset(this.keys.names, userId, username).catch((error: unknown) => {
        this.logger.warn(`Could not record the username of ${userId} in Redis: ${errorText(error)}`);
      });
    }
    void this.change(connected ? 1 : -1, [USER + userId, transportField(entry.transport)]).then((answer) => {
      if (!answer) return;
      const userCount = answer.counts[0] ?? -1;
      if ((connected && userCount === 1) || (!connected && userCount === 0)) {
        const { version } = answer;
        this.announceUser({ online: connected, userId, username, at: Date.now(), version, observed: true });
      }
      const max = this.options.limits.maxConnectionsPerUser;
      if (connected && userCount > max && this.registry.get(entry.id) === entry) {
        entry.end?.endWith(
          new RealtimeError(RealtimeErrorCode.CONNECTION_LIMIT, 'Too many connections for this user', {
            max_connections_per_user: max,
          }),
        );
      }
    });
  }

  /**
   * Counts a change in Redis (commands keep their order per node); null when it was not counted
   * (Redis failed, logged; or this node was out of the set): the next beat resyncs this node.
   */
  private async change(
    delta: 1 | -1,
    fields: string[],
  ): Promise<{ version: number; counts: number[] } | null> {
    if (!this.redis || !this.keys || this.retired) return null;
    const { keys } = this;
    try {
      const counts = (await this.redis.pub.eval(
        CHANGE_SCRIPT,
        6,
        keys.nodeHash(this.node),
        keys.users,
        keys.rooms,
        keys.transports,
        keys.nodes,
        keys.version,
        this.node,
        delta,
        ...fields,
      )) as number[];
      if (counts.length !== fields.length + 1) {
        this.dirty = true;
        return null;
      }
      this.scheduleNotice();
      const [version = 0, ...after] = counts;
      return { version, counts: after };
    } catch (error) {
      this.dirty = true;
      this.logger.warn(`Could not count a presence change in Redis: ${errorText(error)}`);
      return null;
    }
  }

  /** Renews this node, resyncs it when needed, and claims the nodes whose entry expired. */
  private async heartbeat(): Promise<void> {
    if (!this.redis || !this.keys || this.retired) return;
    try {
      const [missing, ...dead] = (await this.redis.pub.eval(
        BEAT_SCRIPT,
        1,
        this.keys.nodes,
        this.node,
        this.options.redis!.nodeExpiryMs,
      )) as [number, ...string[]];
      if (missing === 1 || this.dirty) await this.resync(missing === 1);
      for (const node of dead) if (node !== this.node) await this.claim(node);
    } catch (error) {
      this.logger.warn(`Presence heartbeat to Redis failed: ${errorText(error)}`);
    }
  }

  /**
   * Makes this node's counts in Redis equal to what it holds (at the first beat, after it was counted
   * out while cut from Redis, or after a change that was not counted), and announces the transitions
   * that makes. The snapshot is taken and sent at once: changes after it are queued behind it.
   */
  private async resync(wasOut: boolean): Promise<void> {
    if (!this.redis || !this.keys) return;
    if (wasOut && this.registry.size > 0) {
      this.logger.warn(
        "This node was out of the deployment's count (cut from Redis): counting its connections again",
      );
    }
    this.dirty = false;
    const counts = new Map<string, number>();
    const identities = new Map<string, RealtimeIdentity>();
    for (const { identity, transport } of this.registry.connections()) {
      for (const field of [USER + identity.userId, transportField(transport)]) {
        counts.set(field, (counts.get(field) ?? 0) + 1);
      }
      identities.set(identity.userId, identity);
    }
    for (const { room, identity } of this.localRooms?.() ?? []) {
      counts.set(roomField(room, identity.userId), 1);
      identities.set(identity.userId, identity);
    }
    const pairs: Array<string | number> = [];
    for (const [field, count] of counts) pairs.push(field, count);
    const { keys } = this;
    let answer: [number, string[], string[]];
    try {
      answer = (await this.redis.pub.eval(
        RESYNC_SCRIPT,
        6,
        keys.nodes,
        keys.users,
        keys.rooms,
        keys.transports,
        keys.nodeHash(this.node),
        keys.version,
        this.node,
        this.options.redis!.nodeExpiryMs,
        ...pairs,
      )) as [number, string[], string[]];
    } catch (error) {
      this.dirty = true;
      throw error;
    }
    const [version, up, down] = answer;
    await this.announceFields(up, true, identities, version);
    await this.announceFields(down, false, identities, version);
    this.scheduleNotice();
  }

  /** Takes a node's counts out of the deployment (once, whoever claims it) and announces what fell to zero. */
  private async claim(node: string): Promise<void> {
    if (!this.redis || !this.keys) return;
    const { keys } = this;
    const answer = (await this.redis.pub.eval(
      CLAIM_SCRIPT,
      6,
      keys.nodes,
      keys.users,
      keys.rooms,
      keys.transports,
      keys.nodeHash(node),
      keys.version,
      node,
    )) as Array<number | string>;
    const [version, ...zeroed] = answer;
    // Another node claimed it first.
    if (typeof version !== 'number') return;
    this.logger.log(`Node ${node} stopped renewing its presence: its connections are counted out`);
    await this.announceFields(zeroed.map(String), false, new Map(), version);
    this.scheduleNotice();
  }

  /** Announces user and room transitions of fields (usernames from `known`, else from Redis). */
  private async announceFields(
    fields: readonly string[],
    online: boolean,
    known: ReadonlyMap<string, RealtimeIdentity>,
    version: number,
  ): Promise<void> {
    if (!this.redis || !this.keys || fields.length === 0) return;
    const parsed = fields.map((field) => {
      if (field.startsWith(USER)) return { room: null, userId: field.slice(USER.length) };
      if (!field.startsWith(ROOM)) return null;
      const [room, userId] = field.slice(ROOM.length).split(SEPARATOR);
      return room === undefined || userId === undefined ? null : { room, userId };
    });
    const unknown = [
      ...new Set(parsed.flatMap((entry) => (entry && !known.has(entry.userId) ? [entry.userId] : []))),
    ];
    const names = unknown.length > 0 ? await this.redis.pub.hmget(this.keys.names, ...unknown) : [];
    const nameOf = new Map(unknown.map((id, index) => [id, names[index] ?? id]));
    const at = Date.now();
    for (const entry of parsed) {
      if (!entry) continue;
      const username = known.get(entry.userId)?.username ?? nameOf.get(entry.userId) ?? entry.userId;
      if (entry.room === null) {
        this.announceUser({ online, userId: entry.userId, username, at, version, observed: true });
      } else {
        this.announceRoom({ joined: online, room: entry.room, userId: entry.userId, username, version });
      }
    }
  }

  /**
   * Delivers a user transition here and tells the other nodes, which deliver it to theirs: every node
   * hears every transition and drops one older than the last it delivered for that user (two nodes'
   * announcements can cross on the way).
   */
  private announceUser(transition: UserTransition): void {
    this.deliverUser(transition);
    void this.relay?.send(
      { kind: 'user', transition: { ...transition, observed: false } },
      `presence of ${transition.userId}`,
    );
  }

  private announceRoom(transition: RoomTransition): void {
    this.deliverRoom(transition);
    void this.relay?.send({ kind: 'room', transition }, `room presence of ${transition.userId}`);
  }

  private deliverUser(transition: UserTransition): void {
    if (this.isLatest(USER + transition.userId, transition.version)) this.users.next(transition);
  }

  private deliverRoom(transition: RoomTransition): void {
    if (this.isLatest(roomField(transition.room, transition.userId), transition.version)) {
      this.rooms.next(transition);
    }
  }

  private isLatest(key: string, version: number): boolean {
    if (version <= (this.delivered.get(key) ?? 0)) return false;
    this.delivered.set(key, version);
    return true;
  }

  /** Tells the other nodes that the figures changed, at most once per stats window. */
  private scheduleNotice(): void {
    this.changes.next();
    if (!this.relay || this.noticeTimer || this.retired) return;
    this.noticeTimer = setTimeout(
      () => {
        this.noticeTimer = null;
        void this.relay?.send({ kind: 'changed' }, 'a presence change notice');
      },
      Math.min(100, this.options.events.statsThrottleMs),
    );
    this.noticeTimer.unref();
  }

  private received(notice: PresenceNotice): void {
    if (notice.kind === 'user') this.deliverUser(notice.transition);
    else if (notice.kind === 'room') this.deliverRoom(notice.transition);
    else this.changes.next();
  }
}
