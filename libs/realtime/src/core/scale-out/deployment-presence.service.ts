// Who is online, for the whole deployment. One node: the connection registry of this process, as
// it always was. With `redis`: every node counts its connections in Redis (per user, per room and
// user, per transport), in one hash of its own and in deployment-wide hashes, by Lua scripts so that a
// count and its transition are one atomic step. A transition (a user's first connection anywhere, or
// their last one closing) is seen by exactly one node, which announces it to the deployment. Each node
// renews its entry in a sorted set of live nodes; one whose entry expired (killed, cut from Redis) is
// claimed by the first node that sweeps, which takes its counts back out and announces the users who
// went offline with it.
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { randomUUID } from 'crypto';
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
}

/** A user's first connection joined a room, or their last one left it (anywhere in the deployment). */
export interface RoomTransition {
  joined: boolean;
  room: string;
  userId: string;
  username: string;
}

export interface DeploymentStats {
  activeUsers: number;
  connections: number;
  connectionsByTransport: { socketIo: number; ws: number };
}

/** What the nodes tell each other: room transitions to deliver, and "figures changed" notices. */
type PresenceNotice = { kind: 'room'; transition: RoomTransition } | { kind: 'changed' };

/** Field prefixes in the hashes: u = user, r = room and user, t = transport. */
const USER = 'u';
const ROOM = 'r';
const TRANSPORT = 't';
const SEPARATOR = '\n';

// KEYS: node hash, users hash, rooms hash, transports hash. ARGV: delta, then fields.
// Returns the deployment-wide count of each field after the change (-1: the node no longer held it,
// e.g. swept while cut from Redis: nothing is taken from the deployment's count).
const CHANGE_SCRIPT = `
local delta = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
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

// KEYS: nodes sorted set, users hash, rooms hash, transports hash, the node's hash. ARGV: node id.
// Takes a node's counts out of the deployment once (the ZREM decides who claims it); returns the
// fields that fell to zero.
const CLAIM_SCRIPT = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return {} end
local all = redis.call('HGETALL', KEYS[5])
local out = {}
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
// clocks may differ) and lists the nodes whose entry expired. First element: 1 when this node's entry
// was missing (first beat, or swept while it was cut from Redis).
const BEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
table.insert(dead, 1, added)
return dead
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
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnModuleDestroy
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
    nodeHash: (node: string) => string;
  } | null;
  private subscription: Subscription | null = null;
  private beat: NodeJS.Timeout | null = null;
  private beats = 0;
  private retired = false;
  private noticeTimer: NodeJS.Timeout | null = null;
  /** Local room memberships, to count them again if this node was swept while cut from Redis. */
  private localRooms: (() => Iterable<{ room: string; identity: RealtimeIdentity }>) | null = null;

  /** Once per transition for the deployment (on the node that saw it). */
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
   * Leaving the deployment: this node's counts are taken out now (its users on no other node go
   * offline for the others), before the transports close.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = null;
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
    if (this.noticeTimer) clearTimeout(this.noticeTimer);
    this.noticeTimer = null;
    if (!this.redis || this.retired) return;
    this.retired = true;
    try {
      await this.claim(this.node);
    } catch (error) {
      this.logger.warn(`Could not take this node's connections out of Redis: ${errorText(error)}`);
    }
    this.relay?.stop();
  }

  onModuleDestroy(): void {
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
    void this.change(1, [roomField(room, identity.userId)]).then((counts) => {
      if (counts?.[0] === 1) this.announceRoom({ joined: true, room, ...this.who(identity) });
    });
  }

  /** A connection of this node left a room (or closed while in it). */
  roomLeft(room: string, identity: RealtimeIdentity): void {
    void this.change(-1, [roomField(room, identity.userId)]).then((counts) => {
      if (counts?.[0] === 0) this.announceRoom({ joined: false, room, ...this.who(identity) });
    });
  }

  private who(identity: RealtimeIdentity): { userId: string; username: string } {
    return { userId: identity.userId, username: identity.username };
  }

  private onConnectionChange(change: ConnectionChange): void {
    const { entry } = change;
    const { userId, username } = entry.identity;
    if (!this.redis || !this.keys) {
      if (change.kind === 'connected' && change.userConnections === 1) {
        this.users.next({ online: true, userId, username, at: Date.now() });
      } else if (change.kind === 'disconnected' && change.userConnections === 0) {
        this.users.next({ online: false, userId, username, at: Date.now() });
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
    void this.change(connected ? 1 : -1, [USER + userId, transportField(entry.transport)]).then((counts) => {
      if (!counts) return;
      const userCount = counts[0] ?? -1;
      if (connected && userCount === 1) this.users.next({ online: true, userId, username, at: Date.now() });
      if (!connected && userCount === 0) this.users.next({ online: false, userId, username, at: Date.now() });
      const max = this.options.limits.maxConnectionsPerUser;
      if (connected && userCount > max && this.registry.has(entry.id)) {
        entry.end?.(
          new RealtimeError(RealtimeErrorCode.CONNECTION_LIMIT, 'Too many connections for this user', {
            max_connections_per_user: max,
          }),
        );
      }
    });
  }

  /** Counts a change in Redis; null when Redis failed (logged). Commands keep their order per node. */
  private async change(delta: 1 | -1, fields: string[]): Promise<number[] | null> {
    if (!this.redis || !this.keys || this.retired) return null;
    const { keys } = this;
    try {
      const counts = (await this.redis.pub.eval(
        CHANGE_SCRIPT,
        4,
        keys.nodeHash(this.node),
        keys.users,
        keys.rooms,
        keys.transports,
        delta,
        ...fields,
      )) as number[];
      this.scheduleNotice();
      return counts;
    } catch (error) {
      this.logger.warn(`Could not count a presence change in Redis: ${errorText(error)}`);
      return null;
    }
  }

  /** Renews this node and claims the nodes whose entry expired. */
  private async heartbeat(): Promise<void> {
    if (!this.redis || !this.keys || this.retired) return;
    try {
      const [added, ...dead] = (await this.redis.pub.eval(
        BEAT_SCRIPT,
        1,
        this.keys.nodes,
        this.node,
        this.options.redis!.nodeExpiryMs,
      )) as [number, ...string[]];
      this.beats += 1;
      if (added === 1 && this.beats > 1) await this.recount();
      for (const node of dead) if (node !== this.node) await this.claim(node);
    } catch (error) {
      this.logger.warn(`Presence heartbeat to Redis failed: ${errorText(error)}`);
    }
  }

  /**
   * This node's entry had expired (it was cut from Redis longer than `redis.nodeExpiryMs`) and another
   * node took its counts out: count its open connections and rooms again.
   */
  private async recount(): Promise<void> {
    this.logger.warn(
      'This node was counted out of the deployment while cut from Redis; counting its connections again',
    );
    for (const { identity } of this.registry.connections()) {
      void this.change(1, [USER + identity.userId]).then((counts) => {
        if (counts?.[0] === 1) this.users.next({ online: true, ...this.who(identity), at: Date.now() });
      });
    }
    const byTransport = this.registry.countByTransport();
    for (const [transport, count] of [
      ['socket.io', byTransport.socketIo],
      ['ws', byTransport.ws],
    ] as const) {
      for (let index = 0; index < count; index += 1) void this.change(1, [transportField(transport)]);
    }
    for (const { room, identity } of this.localRooms?.() ?? []) this.roomJoined(room, identity);
  }

  /** Takes a node's counts out of the deployment (once, whoever claims it) and announces what fell to zero. */
  private async claim(node: string): Promise<void> {
    if (!this.redis || !this.keys) return;
    const { keys } = this;
    const zeroed = (await this.redis.pub.eval(
      CLAIM_SCRIPT,
      5,
      keys.nodes,
      keys.users,
      keys.rooms,
      keys.transports,
      keys.nodeHash(node),
      node,
    )) as string[];
    if (node !== this.node)
      this.logger.log(`Node ${node} stopped renewing its presence: its connections are counted out`);
    if (zeroed.length === 0) {
      this.scheduleNotice();
      return;
    }
    const userIds = new Set<string>();
    for (const field of zeroed) {
      if (field.startsWith(USER)) userIds.add(field.slice(USER.length));
      else if (field.startsWith(ROOM)) {
        const [room, userId] = field.slice(ROOM.length).split(SEPARATOR);
        if (room !== undefined && userId !== undefined) userIds.add(userId);
      }
    }
    const ids = [...userIds];
    const names = ids.length > 0 ? await this.redis.pub.hmget(keys.names, ...ids) : [];
    const nameOf = new Map(ids.map((id, index) => [id, names[index] ?? id]));
    const at = Date.now();
    for (const field of zeroed) {
      if (field.startsWith(USER)) {
        const userId = field.slice(USER.length);
        this.users.next({ online: false, userId, username: nameOf.get(userId) ?? userId, at });
      } else if (field.startsWith(ROOM)) {
        const [room, userId] = field.slice(ROOM.length).split(SEPARATOR);
        if (room === undefined || userId === undefined) continue;
        this.announceRoom({ joined: false, room, userId, username: nameOf.get(userId) ?? userId });
      }
    }
    this.scheduleNotice();
  }

  private announceRoom(transition: RoomTransition): void {
    this.rooms.next(transition);
    void this.relay?.send({ kind: 'room', transition }, `room presence of ${transition.userId}`);
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
    if (notice.kind === 'room') this.rooms.next(notice.transition);
    else this.changes.next();
  }
}
