// The deployment of deploy/: three sample nodes as real processes, one Redis, one PostgreSQL, and
// HAProxy running deploy/haproxy.cfg in front. Every client goes through HAProxy's port only, and
// learns which node serves it from what HAProxy tells it: the X-Served-By header of a response or
// WebSocket upgrade, or the sticky cookie of Socket.IO (whose value names the node). Each message,
// log batch and rt_* event reaches the subscribers of every node exactly once; the rate limit holds
// for the deployment; a node killed with SIGKILL loses nothing its clients had acknowledged.
import type { ClientRequest, IncomingMessage } from 'http';
import request from 'supertest';
// socket.io-client's transports, from its engine: its CommonJS build types them as re-exported,
// but its `module.exports = lookup` drops them at run time.
import { NodeWebSocket, NodeXHR } from 'engine.io-client';
import type { Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { LogEntry } from 'nest-realtime';
import {
  ConnectionState,
  RoomsClient,
  type ChatMessage,
  type DirectMessagePayload,
  type ModuleAddedPayload,
  type OnlineUsersPayload,
  type RoomMessagePayload,
  type RoomsSyncReport,
  type UserStatusPayload,
  type WebSocketConstructor,
} from 'nest-realtime-client';
import type { LoginResult } from '../apps/sample/src/auth/auth.service';
import { eventually, reachState } from './support/client-sample';
import { connectIo, nextEvent, signToken, TestWs } from './support/clients';
import { startHaproxy, type Haproxy } from './support/haproxy';
import { startPostgres, type PostgresServer } from './support/postgres-server';
import { startRedis, type RedisServer } from './support/redis-server';
import { buildSampleNode, startSampleNode, type SampleNode } from './support/sample-node';

const NODE_NAMES = ['node1', 'node2', 'node3'];
const RATE_LIMIT_PER_MINUTE = 5;
const NODE_EXPIRY_MS = 3000;
const FAST_RETRY = { reconnectDelay: 50, maxReconnectDelay: 300, maxReconnectAttempts: 100 };
/** HAProxy's Socket.IO cookie (deploy/haproxy.cfg): its value is the name of the node. */
const STICKY_COOKIE = 'rt_node';

type Member = {
  user: LoginResult;
  client: RoomsClient;
  /** The node of each connection the client opened, in order (the last one is the current one). */
  nodes: string[];
  /** While false, the client's connection attempts are refused (it stays away). */
  gate: { open: boolean };
  rooms: RoomMessagePayload[];
  dms: DirectMessagePayload[];
  syncs: RoomsSyncReport[];
};

/**
 * A `ws` class for the SDK that records which node answered each upgrade (X-Served-By), and whose
 * attempts go to a closed port while the gate is closed.
 */
function tracedWebSocket(nodes: string[], gate: { open: boolean }): WebSocketConstructor {
  return class TracedWebSocket extends WebSocket {
    constructor(url: string) {
      // Port 1 on loopback refuses the connection.
      super(gate.open ? url : url.replace(/^(wss?:\/\/[^/:]+):\d+/, '$1:1'));
      this.once('upgrade', (res: IncomingMessage) => nodes.push(String(res.headers['x-served-by'])));
    }
  };
}

/** socket.io-client's WebSocket transport, recording which node answered each upgrade (X-Served-By). */
function tracedIoTransport(nodes: string[]): typeof NodeWebSocket {
  return class TracedIoWebSocket extends NodeWebSocket {
    override createSocket(
      uri: string,
      protocols: string | string[] | undefined,
      opts: Record<string, unknown>,
    ): WebSocket {
      const socket = super.createSocket(uri, protocols, opts) as WebSocket;
      socket.once('upgrade', (res: IncomingMessage) => nodes.push(String(res.headers['x-served-by'])));
      return socket;
    }
  };
}

/** The node named by the sticky cookie HAProxy set on a Socket.IO client's polling responses. */
function stickyNode(socket: Socket): string | undefined {
  for (const [name, cookie] of socket.io.engine._cookieJar.cookies) {
    if (name === STICKY_COOKIE) return cookie.value;
  }
  return undefined;
}

type IoClient = {
  socket: Socket;
  /** The node of each WebSocket the client opened, in order. */
  nodes: string[];
  /** Chat messages received. */
  seen: ChatMessage[];
};

const currentNode = (client: { nodes: string[] }): string | undefined =>
  client.nodes[client.nodes.length - 1];

describe('deployment behind HAProxy (deploy/haproxy.cfg, three nodes)', () => {
  let redis: RedisServer | undefined;
  let postgres: PostgresServer | undefined;
  const nodes: SampleNode[] = [];
  let proxy: Haproxy | undefined;
  const members: Member[] = [];
  const sockets: Socket[] = [];
  const raw: TestWs[] = [];
  let userSequence = 0;

  const url = (): string => {
    if (!proxy) throw new Error('HAProxy is not running');
    return proxy.url;
  };
  const node = (name: string): SampleNode => {
    const found = nodes.find((n) => n.name === name);
    if (!found) throw new Error(`no node ${name}`);
    return found;
  };

  beforeAll(async () => {
    buildSampleNode();
    const [redisStart, postgresStart] = await Promise.allSettled([startRedis(), startPostgres()]);
    if (redisStart.status === 'fulfilled') redis = redisStart.value;
    if (postgresStart.status === 'fulfilled') postgres = postgresStart.value;
    if (!redis || !postgres) {
      throw [redisStart, postgresStart].find((s) => s.status === 'rejected')?.reason;
    }
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'rt-deploy',
      REDIS_NODE_EXPIRY_MS: String(NODE_EXPIRY_MS),
      DATABASE_URL: postgres.url,
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
      RATE_LIMIT_PER_HOUR: '50',
    };
    // The first node creates the schema (migrations, the sample's tables); the others then start
    // side by side, as deploy/compose.yaml orders them.
    const [first, ...others] = NODE_NAMES;
    nodes.push(await startSampleNode({ name: first ?? 'node1', env }));
    const started = await Promise.allSettled(others.map((name) => startSampleNode({ name, env })));
    for (const outcome of started) if (outcome.status === 'fulfilled') nodes.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    proxy = await startHaproxy({ nodes: nodes.map((n) => n.address), healthCheckInterval: '500ms' });
  }, 90_000);

  afterEach(() => {
    while (members.length) members.pop()?.client.close();
    while (sockets.length) sockets.pop()?.close();
    while (raw.length) raw.pop()?.close();
  });

  afterAll(async () => {
    await proxy?.stop();
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await Promise.allSettled([redis?.stop(), postgres?.stop()]);
  });

  async function login(prefix: string): Promise<LoginResult> {
    userSequence += 1;
    const res = await request(url())
      .post('/auth/login')
      .send({ username: `${prefix}${userSequence}` })
      .expect(200);
    return res.body as LoginResult;
  }

  /** A RoomsClient through HAProxy, ACTIVE, recording its nodes and what it receives. */
  async function member(user: LoginResult): Promise<Member> {
    const nodesSeen: string[] = [];
    const gate = { open: true };
    const client = new RoomsClient({
      url: url(),
      token: user.token,
      reconnection: FAST_RETRY,
      webSocket: tracedWebSocket(nodesSeen, gate),
    });
    const created: Member = { user, client, nodes: nodesSeen, gate, rooms: [], dms: [], syncs: [] };
    members.push(created);
    client.on('room_message', (message) => created.rooms.push(message));
    client.on('direct_message', (message) => created.dms.push(message));
    client.onSyncComplete((report) => created.syncs.push(report));
    await client.connect();
    return created;
  }

  /** Members of fresh users until every node has one (HAProxy spreads /ws/ by leastconn). */
  async function membersOnEveryNode(prefix: string): Promise<Member[]> {
    const opened: Member[] = [];
    const covered = () => new Set(opened.map(currentNode)).size === NODE_NAMES.length;
    for (let i = 0; i < 3 * NODE_NAMES.length && !covered(); i += 1)
      opened.push(await member(await login(prefix)));
    expect(new Set(opened.map(currentNode))).toEqual(new Set(NODE_NAMES));
    return opened;
  }

  /**
   * A Socket.IO client through HAProxy (websocket only unless `polling`), recording the node of each
   * WebSocket it opens. `pin` sends the sticky cookie naming that node, as a browser that has it.
   */
  async function openIo(
    auth: Record<string, unknown>,
    options: { pin?: string; polling?: boolean; extra?: Record<string, unknown> } = {},
  ): Promise<IoClient> {
    const nodesSeen: string[] = [];
    const websocket = tracedIoTransport(nodesSeen);
    const socket = await connectIo(url(), auth, {
      transports: options.polling ? [NodeXHR, websocket] : [websocket],
      // In Node, socket.io-client keeps cookies (HAProxy's sticky one) only with withCredentials.
      withCredentials: options.polling === true,
      ...(options.pin ? { extraHeaders: { cookie: `${STICKY_COOKIE}=${options.pin}` } } : {}),
      ...options.extra,
    });
    sockets.push(socket);
    return { socket, nodes: nodesSeen, seen: collect<ChatMessage>(socket, 'message') };
  }

  /** Raw ws through HAProxy, with the node that answered the upgrade. */
  async function openRaw(path: string): Promise<{ ws: TestWs; node: string }> {
    let served = '';
    const ws = await TestWs.open(`${url().replace(/^http/, 'ws')}${path}`, {
      finishRequest: (req: ClientRequest) => {
        req.once('upgrade', (res: IncomingMessage) => (served = String(res.headers['x-served-by'])));
        req.end();
      },
    });
    raw.push(ws);
    return { ws, node: served };
  }

  /** Every Socket.IO `event` payload of a socket, in order. */
  function collect<T>(socket: Socket, event: string): T[] {
    const seen: T[] = [];
    socket.on(event, (payload: T) => seen.push(payload));
    return seen;
  }

  it('balances HTTP over the three nodes and names the node that answered', async () => {
    const answered: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await request(url()).get('/health').expect(200);
      const body = res.body as { status: string; node: string };
      expect(body.status).toBe('ok');
      expect(res.headers['x-served-by']).toBe(body.node);
      answered.push(body.node);
    }
    expect(new Set(answered)).toEqual(new Set(NODE_NAMES));
  });

  describe('Socket.IO chat', () => {
    /** Sends `text` then a marker from `sender`; resolves once every socket has the marker. */
    async function sendAndSettle(
      sender: Socket,
      everyone: Array<ChatMessage[]>,
      text: string,
    ): Promise<void> {
      for (const message of [text, `${text} (marker)`]) {
        const ack = (await sender.timeout(5000).emitWithAck('message', { message })) as { id?: string };
        expect(typeof ack.id).toBe('string');
      }
      // Messages of one sender leave its node in order: once the marker is in, so is any copy of `text`.
      await eventually(
        () => everyone.every((seen) => seen.some((m) => m.message === `${text} (marker)`)),
        10_000,
        'the marker at every socket',
      );
    }

    it('long-polling first, then upgrade: the default client with a cookie jar reaches every member once', async () => {
      // HAProxy's sticky cookie, set on the handshake, rides on every polling request and on the
      // upgrade: the WebSocket reaches the node that the cookie names.
      const opened: Array<IoClient & { sticky: string | undefined }> = [];
      const covered = () => new Set(opened.map((o) => o.sticky)).size === NODE_NAMES.length;
      for (let i = 0; i < 3 * NODE_NAMES.length && !covered(); i += 1) {
        const client = await openIo({ token: (await login('poll')).token }, { polling: true });
        await eventually(
          () => client.socket.io.engine.transport.name === 'websocket',
          10_000,
          'upgrade to websocket',
        );
        opened.push({ ...client, sticky: stickyNode(client.socket) });
      }
      expect(new Set(opened.map((o) => o.sticky))).toEqual(new Set(NODE_NAMES));
      for (const client of opened) expect(client.nodes).toEqual([client.sticky]);

      const sender = opened[0];
      if (!sender) throw new Error('no socket');
      await sendAndSettle(
        sender.socket,
        opened.map((o) => o.seen),
        'hello through polling',
      );
      for (const { seen } of opened) {
        expect(seen.filter((m) => m.message === 'hello through polling')).toHaveLength(1);
      }
    });

    it('websocket only: a message reaches the members of every node exactly once', async () => {
      const opened: IoClient[] = [];
      for (const name of NODE_NAMES)
        opened.push(await openIo({ token: (await login('wsonly')).token }, { pin: name }));
      expect(opened.map(currentNode)).toEqual(NODE_NAMES);
      // One more without a cookie, wherever leastconn puts it.
      opened.push(await openIo({ token: (await login('wsonly')).token }));

      const sender = opened[1];
      if (!sender) throw new Error('no socket');
      await sendAndSettle(
        sender.socket,
        opened.map((o) => o.seen),
        'hello over websocket',
      );
      for (const { seen } of opened) {
        expect(seen.filter((m) => m.message === 'hello over websocket')).toHaveLength(1);
      }
    });

    it('a client dropped on one node recovers what it missed on another (Redis Streams adapter)', async () => {
      const [from, to] = NODE_NAMES;
      if (!from || !to) throw new Error('two nodes needed');
      const sender = await openIo({ token: (await login('recoverfrom')).token }, { pin: to });
      const client = await openIo(
        { token: (await login('recover')).token },
        {
          pin: from,
          extra: {
            reconnection: true,
            reconnectionDelay: 1000,
            reconnectionDelayMax: 1000,
            randomizationFactor: 0,
          },
        },
      );
      const { socket, seen } = client;
      // A client asks to recover from the offset of the last broadcast it got: it needs one.
      await sendAndSettle(sender.socket, [seen], 'before');

      // The transport drops as in a network failure; the next attempt carries the other node's cookie.
      const disconnected = nextEvent(socket, 'disconnect');
      socket.io.opts.extraHeaders = { cookie: `${STICKY_COOKIE}=${to}` };
      socket.io.engine.close();
      await disconnected;
      const reconnected = nextEvent(socket, 'connect', 10_000);
      const away = (await sender.socket.timeout(5000).emitWithAck('message', { message: 'while away' })) as {
        id?: string;
      };
      expect(typeof away.id).toBe('string');
      await reconnected;
      expect(client.nodes).toEqual([from, to]);
      expect(socket.recovered).toBe(true);
      await sendAndSettle(sender.socket, [seen], 'after recovery');
      expect(seen.map((m) => m.message)).toEqual([
        'before',
        'before (marker)',
        'while away',
        'after recovery',
        'after recovery (marker)',
      ]);
    });
  });

  it('/ws/chat: room and direct messages reach the users of every node exactly once', async () => {
    const room = 'deploy-rooms';
    const everyone = await membersOnEveryNode('rooms');
    for (const m of everyone) await m.client.joinRoom(room);

    const [sender, dmSender] = everyone;
    if (!sender || !dmSender) throw new Error('no members');
    const sent = await sender.client.sendRoomMessage(room, 'to the room');
    const marker = await sender.client.sendRoomMessage(room, 'room marker');
    await eventually(
      () => everyone.every((m) => m.rooms.some((r) => r.id === marker.id)),
      10_000,
      'the room marker everywhere',
    );
    for (const m of everyone) expect(m.rooms.filter((r) => r.id === sent.id)).toHaveLength(1);

    // Direct messages from one user to the users of the other nodes.
    const recipients = everyone.filter((m) => currentNode(m) !== currentNode(dmSender));
    expect(recipients.length).toBeGreaterThanOrEqual(NODE_NAMES.length - 1);
    for (const recipient of recipients.slice(0, 2)) {
      const dm = await dmSender.client.sendDirectMessage(recipient.user.user.id, 'just for you');
      const dmMarker = await dmSender.client.sendDirectMessage(recipient.user.user.id, 'dm marker');
      await eventually(() => recipient.dms.some((d) => d.id === dmMarker.id), 10_000, 'the DM marker');
      expect(recipient.dms.filter((d) => d.id === dm.id)).toHaveLength(1);
      expect(recipient.dms.filter((d) => d.id === dm.id)[0]).toMatchObject({ content: 'just for you' });
    }
  });

  it('/ws/logs: a batch posted through the balancer reaches the subscribers of every node exactly once', async () => {
    const appId = 'deploy-app';
    const token = signToken({ sub: 'ops', username: 'ops', appId });
    const subscribers: Array<{ ws: TestWs; node: string; entries: LogEntry[] }> = [];
    const covered = () => new Set(subscribers.map((s) => s.node)).size === NODE_NAMES.length;
    for (let i = 0; i < 3 * NODE_NAMES.length && !covered(); i += 1) {
      const { ws, node: served } = await openRaw(`/ws/logs?token=${token}`);
      await ws.next('auth_success');
      await ws.next('logs'); // the backlog
      subscribers.push({ ws, node: served, entries: [] });
    }
    expect(new Set(subscribers.map((s) => s.node))).toEqual(new Set(NODE_NAMES));

    const post = (messages: string[]) =>
      request(url())
        .post(`/apps/${appId}/logs`)
        .set('Authorization', `Bearer ${token}`)
        .send(messages.map((message) => ({ level: 'info', message })))
        .expect(202);
    const published = await post(['first line', 'second line']);
    const publisher = String(published.headers['x-served-by']);
    // A marker published by the same node: batches of one node arrive in order.
    let marker = '';
    for (let i = 0; i < 2 * NODE_NAMES.length && marker === ''; i += 1) {
      const res = await post([`marker ${i}`]);
      if (res.headers['x-served-by'] === publisher) marker = `marker ${i}`;
    }
    expect(marker).not.toBe('');
    for (const subscriber of subscribers) {
      while (!subscriber.entries.some((e) => e.message === marker)) {
        subscriber.entries.push(...((await subscriber.ws.next('logs', 10_000)).payload as LogEntry[]));
      }
      expect(subscriber.entries.filter((e) => e.message === 'first line')).toHaveLength(1);
      expect(subscriber.entries.filter((e) => e.message === 'second line')).toHaveLength(1);
    }
  });

  it('rt_* events: a module added through the balancer reaches the modules page on every node exactly once', async () => {
    const owner = await login('owner');
    const watchers: Array<{ node: string | undefined; added: ModuleAddedPayload[] }> = [];
    for (const name of NODE_NAMES) {
      const watcher = await openIo({ token: (await login('watcher')).token, page: 'modules' }, { pin: name });
      watchers.push({
        node: currentNode(watcher),
        added: collect<ModuleAddedPayload>(watcher.socket, 'rt_module_added'),
      });
    }
    expect(watchers.map((w) => w.node)).toEqual(NODE_NAMES);
    const add = (moduleId: string) =>
      request(url())
        .post('/modules')
        .set('Authorization', `Bearer ${owner.token}`)
        .send({ moduleId, name: moduleId, type: 'Station' })
        .expect(201);
    const publisher = String((await add('DEPLOY-1')).headers['x-served-by']);
    let marker = '';
    for (let i = 0; i < 2 * NODE_NAMES.length && marker === ''; i += 1) {
      const res = await add(`DEPLOY-MARKER-${i}`);
      if (res.headers['x-served-by'] === publisher) marker = `DEPLOY-MARKER-${i}`;
    }
    expect(marker).not.toBe('');
    await eventually(
      () => watchers.every((w) => w.added.some((a) => a.moduleId === marker)),
      10_000,
      'the marker module at every watcher',
    );
    for (const watcher of watchers) {
      expect(watcher.added.filter((a) => a.moduleId === 'DEPLOY-1')).toEqual([
        { moduleId: 'DEPLOY-1', name: 'DEPLOY-1', type: 'Station', userId: owner.user.id },
      ]);
    }
  });

  it('the rate limit holds across nodes: one user on two nodes gets exactly the limit accepted', async () => {
    const room = 'deploy-limits';
    const user = await login('limited');
    const connections: Member[] = [];
    const nodesOf = () => new Set(connections.map(currentNode));
    for (let i = 0; i < 2 * NODE_NAMES.length && nodesOf().size < 2; i += 1) {
      const opened = await member(user);
      if (nodesOf().has(currentNode(opened))) opened.client.close();
      else connections.push(opened);
    }
    expect(nodesOf().size).toBe(2);
    for (const c of connections) await c.client.joinRoom(room);

    const outcomes: string[] = [];
    const attempts = 2 * RATE_LIMIT_PER_MINUTE;
    for (let i = 0; i < attempts; i += 1) {
      const via = connections[i % 2];
      if (!via) throw new Error('no connection');
      try {
        await via.client.sendRoomMessage(room, `attempt ${i}`);
        outcomes.push('accepted');
      } catch (error) {
        outcomes.push((error as { code?: string }).code ?? String(error));
      }
    }
    // Sent one after the other: the first `limit` pass, wherever they land, and none after them.
    expect(outcomes).toEqual([
      ...Array<string>(RATE_LIMIT_PER_MINUTE).fill('accepted'),
      ...Array<string>(attempts - RATE_LIMIT_PER_MINUTE).fill('RATE_LIMITED'),
    ]);
  });

  // Last: it leaves two nodes.
  it('kill -9 of a node: its clients reconnect elsewhere and catch up, nothing acknowledged is lost or doubled, its users go offline', async () => {
    const room = 'deploy-kill';
    const everyone = await membersOnEveryNode('kill');
    // Two clients per node, so that the killed node had several.
    while (everyone.length < 2 * NODE_NAMES.length) everyone.push(await member(await login('kill')));
    for (const m of everyone) await m.client.joinRoom(room);
    const victimName = currentNode(everyone[0] as Member) ?? '';
    const onVictim = everyone.filter((m) => currentNode(m) === victimName);
    const elsewhere = everyone.filter((m) => currentNode(m) !== victimName);
    expect(onVictim.length).toBeGreaterThanOrEqual(1);
    expect(elsewhere.length).toBeGreaterThanOrEqual(2);

    // Presence: a user connected only to the victim (no reconnection), watched from another node.
    const survivorName = currentNode(elsewhere[0] as Member) ?? '';
    const observer = await openIo({ token: (await login('observer')).token }, { pin: survivorName });
    const statuses = collect<UserStatusPayload>(observer.socket, 'userStatus');
    const silent = await login('silent');
    const silentClient = await openIo({ token: silent.token }, { pin: victimName });
    expect([currentNode(observer), currentNode(silentClient)]).toEqual([survivorName, victimName]);
    await eventually(
      () => statuses.some((s) => s.userId === silent.user.id && s.isOnline),
      5000,
      'the silent user online for the observer',
    );

    const acknowledged: RoomMessagePayload[] = [];
    const send = async (m: Member, text: string): Promise<void> => {
      try {
        acknowledged.push(await m.client.sendRoomMessage(room, text));
      } catch (error) {
        // In flight when the node died: no acknowledgement, stored or not.
        expect((error as { code?: string }).code).not.toBe('RATE_LIMITED');
      }
    };
    const name = (m: Member): string => m.user.user.username;
    // Five messages per user (the rate limit): two before the kill, one in flight during it, two after.
    for (const m of everyone) for (const n of [1, 2]) await send(m, `${name(m)} before ${n}`);
    // The killed node's clients stay away for a while (their attempts are refused), so that they
    // miss live messages and have to catch up once they are back.
    for (const m of onVictim) m.gate.open = false;
    const killedAt = Date.now();
    const during = Promise.all(everyone.map((m) => send(m, `${name(m)} during`)));
    await node(victimName).kill();
    for (const m of onVictim) await reachState(m.client, ConnectionState.RECONNECTING);
    for (const m of elsewhere) await send(m, `${name(m)} after 1`);

    // The killed node's users go offline for the others within nodeExpiryMs + nodeExpiryMs / 3.
    const offlineWithin = NODE_EXPIRY_MS + NODE_EXPIRY_MS / 3;
    await eventually(
      () => statuses.some((s) => s.userId === silent.user.id && !s.isOnline),
      offlineWithin + 2000,
      'the silent user offline for the observer',
    );
    expect(Date.now() - killedAt).toBeLessThanOrEqual(offlineWithin + 500);

    // Back through the balancer, on another node, caught up.
    for (const m of onVictim) m.gate.open = true;
    for (const m of onVictim) {
      await eventually(
        () => currentNode(m) !== victimName && m.client.state === ConnectionState.ACTIVE,
        15_000,
        'back on another node',
      );
      expect(m.syncs).toHaveLength(1);
      expect(m.syncs[0]?.roomMessages).toBeGreaterThanOrEqual(elsewhere.length);
    }
    await during;
    for (const m of onVictim) await send(m, `${name(m)} after 1`);
    for (const m of everyone) await send(m, `${name(m)} after 2`);

    // The users who came back on another node are still online for the others.
    const online = (await observer.socket.timeout(5000).emitWithAck('onlineUsers')) as OnlineUsersPayload;
    const onlineIds = online.users.filter((u) => u.isOnline).map((u) => u.userId);
    for (const m of onVictim) expect(onlineIds).toContain(m.user.user.id);

    const reader = elsewhere[0] as Member;
    const page = await reader.client.roomHistory({ room, limit: 100 });
    expect(page.has_more).toBe(false);
    const history = page.messages;
    const historyIds = history.map((h) => h.id);
    expect(new Set(historyIds).size).toBe(historyIds.length);
    for (const ack of acknowledged) expect(historyIds.filter((id) => id === ack.id)).toHaveLength(1);
    expect(acknowledged.length).toBeGreaterThanOrEqual(everyone.length * 4);

    // Every member ends up with the whole history, once each, the killed node's clients included.
    await eventually(
      () => everyone.every((m) => historyIds.every((id) => m.rooms.some((r) => r.id === id))),
      15_000,
      'every member has the whole history',
    );
    for (const m of everyone) {
      const ids = m.rooms.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort((a, b) => a - b)).toEqual([...historyIds].sort((a, b) => a - b));
    }
  }, 60_000);
});
