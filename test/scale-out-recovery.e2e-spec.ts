// Socket.IO connection state recovery across nodes. Behind one address (a TCP switch standing for
// the load balancer), a chat client on node A loses its transport while messages are posted to its
// room on node B, then lands on node B: with the Redis Streams adapter (`redis.socketIoAdapter:
// 'streams'`, the default) the session is restored there and the missed messages replayed, once, in
// order; with the classic adapter ('pubsub') it is not, and the SDK's ChatClient fetches them from
// history instead. Also: the adapter's Redis connections are all closed at shutdown.
import { mkdtempSync, rmSync } from 'fs';
import { createServer, connect as connectTcp, type Server as TcpServer, type Socket as TcpSocket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { RealtimeModuleOptions } from 'nest-realtime';
import { SocketIoServerRef } from 'nest-realtime/core/transport/socket-io-server.ref';
import {
  ChatClient,
  ConnectionState,
  type ChatMessage,
  type ChatSyncReport,
  type WebSocketConstructor,
} from 'nest-realtime-client';
import { reachState } from './support/client-sample';
import { nextEvent, waitUntil } from './support/clients';
import { startRedis, type RedisServer } from './support/redis-server';
import { startSample, type RunningSample } from './support/sample-app';

/**
 * A TCP switch in front of the nodes: clients know one address, the node behind it changes. `cut()`
 * drops every connection at once, with no close handshake (a network failure: both ends see a
 * transport close, which Socket.IO treats as recoverable), and refuses new ones until `routeTo()`.
 */
class NodeSwitch {
  private target: number | null;
  private readonly open = new Set<TcpSocket>();

  private constructor(
    private readonly server: TcpServer,
    target: number,
  ) {
    this.target = target;
    server.on('connection', (client) => this.accept(client));
  }

  static start(target: number): Promise<NodeSwitch> {
    const server = createServer();
    const running = new NodeSwitch(server, target);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(running));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  cut(): void {
    this.refuseNew();
    for (const socket of this.open) socket.destroy();
  }

  /** Keeps the connections that are open, refuses new ones until `routeTo()`. */
  refuseNew(): void {
    this.target = null;
  }

  routeTo(port: number): void {
    this.target = port;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: TcpSocket): void {
    if (this.target === null) {
      client.destroy();
      return;
    }
    const upstream = connectTcp(this.target, '127.0.0.1');
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.open.add(socket);
      socket.pipe(other);
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        this.open.delete(socket);
        other.destroy();
      });
    }
  }
}

/** What socket.io-client keeps to ask for its session back (sent as `pid` and `offset` on CONNECT). */
function recoveryState(socket: Socket): { pid: string | undefined; offset: string | undefined } {
  const internals = socket as unknown as { _pid?: string; _lastOffset?: string };
  return { pid: internals._pid, offset: internals._lastOffset };
}

/** The Socket.IO socket under a ChatClient (private: read here to await what it receives). */
function clientSocket(client: ChatClient): Socket {
  return (client as unknown as { transport: { socket: Socket } }).transport.socket;
}

/** A WebSocket class (`ws`) that runs `before` ahead of sending each frame of that type. */
function webSocketBefore(type: string, before: () => Promise<void>): WebSocketConstructor {
  return class extends WebSocket {
    override send(data: string): void {
      if ((JSON.parse(data) as { type?: string }).type !== type) {
        super.send(data);
        return;
      }
      before().then(
        () => super.send(data),
        (error: unknown) => this.emit('error', error),
      );
    }
  };
}

describe('Socket.IO connection state recovery across nodes', () => {
  let redis: RedisServer;
  let redisClient: Redis;
  const dirs: string[] = [];
  const nodes: RunningSample[] = [];
  const switches: NodeSwitch[] = [];
  const closables: Array<{ close(): void }> = [];
  const FAST_RETRY = { reconnectDelay: 50, maxReconnectDelay: 100, jitter: 0, maxReconnectAttempts: 200 };

  beforeAll(async () => {
    redis = await startRedis();
    redisClient = new Redis(redis.url);
  }, 30_000);

  afterEach(() => {
    while (closables.length) closables.pop()?.close();
  });

  afterAll(async () => {
    await Promise.all(switches.map((s) => s.close()));
    for (const node of nodes) await node.close();
    redisClient?.disconnect();
    await redis?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Two nodes sharing one database and one Redis, with the given Socket.IO adapter. */
  async function startPair(
    socketIoAdapter: 'streams' | 'pubsub',
    keyPrefix: string,
  ): Promise<[RunningSample, RunningSample]> {
    const dataDir = mkdtempSync(join(tmpdir(), `rt-e2e-recovery-${socketIoAdapter}-`));
    dirs.push(dataDir);
    const overrides: Partial<RealtimeModuleOptions> = {
      redis: { url: redis.url, keyPrefix, socketIoAdapter },
      chat: { recoveryWindowMs: 60_000 },
    };
    const a = await startSample({ config: { dataDir }, overrides });
    nodes.push(a);
    const b = await startSample({ config: { dataDir }, overrides });
    nodes.push(b);
    return [a, b];
  }

  async function switchTo(node: RunningSample): Promise<NodeSwitch> {
    const nodeSwitch = await NodeSwitch.start(node.port);
    switches.push(nodeSwitch);
    return nodeSwitch;
  }

  /** A plain socket.io-client that reconnects by itself, quickly. */
  async function reconnectingSocket(url: string, token: string): Promise<Socket> {
    const socket = io(url, {
      auth: { token },
      transports: ['websocket'],
      forceNew: true,
      reconnectionDelay: 50,
      reconnectionDelayMax: 100,
    });
    closables.push(socket);
    await nextEvent(socket, 'connect');
    return socket;
  }

  async function chatSocket(node: RunningSample, token: string, roomId: string): Promise<Socket> {
    const socket = io(node.url, { auth: { token }, transports: ['websocket'], forceNew: true });
    closables.push(socket);
    await nextEvent(socket, 'connect');
    await socket.timeout(5000).emitWithAck('join', { roomId });
    return socket;
  }

  async function post(socket: Socket, roomId: string, message: string): Promise<string> {
    const ack = (await socket.timeout(5000).emitWithAck('message', { message, context: { roomId } })) as {
      id?: string;
    };
    if (ack.id === undefined) throw new Error(`"${message}" was refused: ${JSON.stringify(ack)}`);
    return ack.id;
  }

  function serves(node: RunningSample, socketId: string | undefined): boolean {
    const server = node.app.get(SocketIoServerRef).get();
    return socketId !== undefined && server !== null && server.of('/').sockets.has(socketId);
  }

  describe("with the Redis Streams adapter ('streams', the default)", () => {
    let nodeA: RunningSample;
    let nodeB: RunningSample;
    const prefix = 'rt-rec';

    beforeAll(async () => {
      [nodeA, nodeB] = await startPair('streams', prefix);
    }, 60_000);

    it('restores the session on node B and replays the messages posted there meanwhile, once, in order', async () => {
      const [ann, bob] = [await nodeA.login('ann'), await nodeB.login('bob')];
      const front = await switchTo(nodeA);
      const client = await reconnectingSocket(front.url, ann.token);
      await client.timeout(5000).emitWithAck('join', { roomId: 'recovery-1' });
      const received: ChatMessage[] = [];
      client.on('message', (message: ChatMessage) => received.push(message));
      const poster = await chatSocket(nodeB, bob.token, 'recovery-1');
      await post(poster, 'recovery-1', 'before');
      await waitUntil(() => received.length === 1);
      const sessionId = client.id;
      const { pid, offset } = recoveryState(client);
      expect(pid).toEqual(expect.any(String));
      expect(offset).toMatch(/^\d+-\d+$/); // an entry id of the stream
      expect(serves(nodeA, sessionId)).toBe(true);

      front.cut();
      // Node A saw the transport close and stored the session in Redis for whichever node comes next.
      await waitUntil(async () => (await redisClient.exists(`${prefix}:socket.io-session:${pid}`)) === 1);
      const missed = [];
      for (const text of ['missed 1', 'missed 2', 'missed 3'])
        missed.push(await post(poster, 'recovery-1', text));
      front.routeTo(nodeB.port);
      await nextEvent(client, 'connect', 10_000);

      expect(client.recovered).toBe(true);
      expect(client.id).toBe(sessionId);
      expect(serves(nodeB, sessionId)).toBe(true);
      expect(serves(nodeA, sessionId)).toBe(false);
      // The restored session is in the room again: a message posted after the return arrives too.
      const afterId = await post(poster, 'recovery-1', 'after');
      await waitUntil(() => received.some((m) => m.id === afterId));
      await client.timeout(5000).emitWithAck('onlineUsers'); // anything sent before it has arrived
      expect(received.map((m) => m.message)).toEqual(['before', 'missed 1', 'missed 2', 'missed 3', 'after']);
      expect(received.slice(1, 4).map((m) => m.id)).toEqual(missed);
      // The session was taken (GETDEL): it cannot be restored a second time.
      expect(await redisClient.exists(`${prefix}:socket.io-session:${pid}`)).toBe(0);
      expect(await redisClient.xlen(`${prefix}:socket.io`)).toBeGreaterThan(0);
    });

    it('ChatClient behind one address: recovered on node B, the missed messages replayed, no history read', async () => {
      const [cat, dan] = [await nodeA.login('cat'), await nodeB.login('dan')];
      const front = await switchTo(nodeA);
      const client = new ChatClient({ url: front.url, token: cat.token, reconnection: FAST_RETRY });
      closables.push(client);
      await client.connect();
      await client.join('recovery-2');
      const received: ChatMessage[] = [];
      client.on('message', (message) => received.push(message));
      const reports: ChatSyncReport[] = [];
      client.onSyncComplete((report) => reports.push(report));
      const poster = await chatSocket(nodeB, dan.token, 'recovery-2');
      await post(poster, 'recovery-2', 'before');
      await waitUntil(() => received.length === 1);
      const sessions = `${prefix}:socket.io-session:*`;
      expect(await redisClient.keys(sessions)).toEqual([]);

      front.cut();
      await waitUntil(async () => (await redisClient.keys(sessions)).length === 1);
      for (const text of ['away 1', 'away 2', 'away 3']) await post(poster, 'recovery-2', text);
      front.routeTo(nodeB.port);
      await waitUntil(() => reports.length === 1, 10_000);

      expect(reports).toEqual([{ rooms: ['recovery-2'], recovered: true }]);
      expect(client.state).toBe(ConnectionState.ACTIVE);
      await client.onlineUsers();
      expect(received.map((m) => m.message)).toEqual(['before', 'away 1', 'away 2', 'away 3']);
    });

    it('fetchSockets, socketsJoin and serverSideEmit reach the other node (host gateways share the server)', async () => {
      const mia = await nodeA.login('mia');
      const socket = await chatSocket(nodeA, mia.token, 'recovery-7');
      const [serverA, serverB] = [nodeA, nodeB].map((node) => node.app.get(SocketIoServerRef).get()!);
      const found = await serverB!.in('rt:room:recovery-7').fetchSockets();
      expect(found.map((remote) => remote.id)).toEqual([socket.id]);

      serverB!.in(socket.id!).socketsJoin('host-room');
      await waitUntil(() => serverA!.of('/').adapter.rooms.get('host-room')?.has(socket.id!) === true);
      const note = nextEvent(socket, 'host_note');
      serverB!.to('host-room').emit('host_note', { from: 'node B' });
      expect(await note).toEqual({ from: 'node B' });

      const heard = new Promise<unknown>((resolve) => serverA!.once('host_ping', resolve));
      serverB!.serverSideEmit('host_ping', 42);
      expect(await heard).toBe(42);
    });

    it('a client of a node that shuts down recovers on another node (session stored at shutdown)', async () => {
      const [kim, lou] = [await nodeA.login('kim'), await nodeB.login('lou')];
      const leaving = await startSample({
        config: { dataDir: nodeA.config.dataDir },
        overrides: { redis: { url: redis.url, keyPrefix: prefix }, chat: { recoveryWindowMs: 60_000 } },
      });
      const front = await switchTo(leaving);
      const client = await reconnectingSocket(front.url, kim.token);
      await client.timeout(5000).emitWithAck('join', { roomId: 'recovery-6' });
      const received: ChatMessage[] = [];
      client.on('message', (message: ChatMessage) => received.push(message));
      const poster = await chatSocket(nodeB, lou.token, 'recovery-6');
      await post(poster, 'recovery-6', 'before');
      await waitUntil(() => received.length === 1);
      const sessionId = client.id;

      front.refuseNew();
      const dropped = nextEvent<string>(client, 'disconnect');
      await leaving.close(); // Socket.IO closes its sockets ("server shutting down"), a recoverable end
      await dropped;
      await post(poster, 'recovery-6', 'while the node restarts');
      front.routeTo(nodeB.port);
      await nextEvent(client, 'connect', 10_000);

      expect(client.recovered).toBe(true);
      expect(client.id).toBe(sessionId);
      await client.timeout(5000).emitWithAck('onlineUsers');
      expect(received.map((m) => m.message)).toEqual(['before', 'while the node restarts']);
    });

    it('closes every Redis connection of a node at shutdown, those the adapter opened included', async () => {
      const clientsNow = async (): Promise<number> =>
        String(await redisClient.client('LIST'))
          .trim()
          .split('\n').length;
      const before = await clientsNow();
      const dataDir = mkdtempSync(join(tmpdir(), 'rt-e2e-recovery-shutdown-'));
      dirs.push(dataDir);
      const node = await startSample({
        config: { dataDir },
        overrides: { redis: { url: redis.url, keyPrefix: 'rt-rec-shutdown' } },
      });
      // Publishing, subscribed and the adapter's own (writing, reading with XREAD BLOCK, subscribed).
      await waitUntil(async () => (await clientsNow()) >= before + 5);
      await node.close();
      // At once: not when the reader's XREAD BLOCK (up to 5 s) would have returned by itself.
      await waitUntil(async () => (await clientsNow()) === before, 1000);
    });
  });

  describe("with the classic adapter ('pubsub')", () => {
    let nodeC: RunningSample;
    let nodeD: RunningSample;

    beforeAll(async () => {
      [nodeC, nodeD] = await startPair('pubsub', 'rt-rec-ps');
    }, 60_000);

    it('does not recover on node B: the messages posted meanwhile are not replayed', async () => {
      const [eve, fay] = [await nodeC.login('eve'), await nodeD.login('fay')];
      const front = await switchTo(nodeC);
      const client = await reconnectingSocket(front.url, eve.token);
      await client.timeout(5000).emitWithAck('join', { roomId: 'recovery-3' });
      const received: ChatMessage[] = [];
      client.on('message', (message: ChatMessage) => received.push(message));
      const poster = await chatSocket(nodeD, fay.token, 'recovery-3');
      await post(poster, 'recovery-3', 'before');
      await waitUntil(() => received.length === 1);
      const sessionId = client.id;
      // No session is offered: the classic adapter could not restore it, on any node.
      expect(recoveryState(client)).toEqual({ pid: undefined, offset: undefined });

      front.cut();
      await waitUntil(() => !serves(nodeC, sessionId));
      for (const text of ['lost 1', 'lost 2']) await post(poster, 'recovery-3', text);
      front.routeTo(nodeD.port);
      await nextEvent(client, 'connect', 10_000);

      expect(client.recovered).toBeFalsy(); // undefined: socket.io-client was offered no session
      expect(client.id).not.toBe(sessionId);
      await client.timeout(5000).emitWithAck('join', { roomId: 'recovery-3' });
      const afterId = await post(poster, 'recovery-3', 'after');
      await waitUntil(() => received.some((m) => m.id === afterId));
      expect(received.map((m) => m.message)).toEqual(['before', 'after']);
    });

    it('ChatClient: not recovered, the missed messages fetched from history and delivered once, in order', async () => {
      const [gus, hal] = [await nodeC.login('gus'), await nodeD.login('hal')];
      const front = await switchTo(nodeC);
      const poster = await chatSocket(nodeD, hal.token, 'recovery-4');
      // The first history request waits until a message posted now has reached the client live: it
      // is then both in the history page and among the live messages held during the catch-up.
      let duringId: string | undefined;
      const client = new ChatClient({
        url: front.url,
        token: gus.token,
        reconnection: FAST_RETRY,
        catchUp: { webSocket: webSocketBefore('room_history', () => postDuringCatchUp()) },
      });
      async function postDuringCatchUp(): Promise<void> {
        if (duringId !== undefined) return;
        const live = nextEvent<ChatMessage>(clientSocket(client), 'message');
        duringId = await post(poster, 'recovery-4', 'during catch-up');
        expect((await live).id).toBe(duringId);
      }
      closables.push(client);
      await client.connect();
      await client.join('recovery-4');
      const received: ChatMessage[] = [];
      client.on('message', (message) => received.push(message));
      const reports: ChatSyncReport[] = [];
      client.onSyncComplete((report) => reports.push(report));
      await post(poster, 'recovery-4', 'before');
      await waitUntil(() => received.length === 1);
      // Messages of a room this client is not in are not fetched.
      const elsewhere = await chatSocket(nodeD, hal.token, 'recovery-4-other');

      front.cut();
      await reachState(client, ConnectionState.RECONNECTING);
      const missed = [];
      for (const text of ['missed 1', 'missed 2', 'missed 3'])
        missed.push(await post(poster, 'recovery-4', text));
      await post(elsewhere, 'recovery-4-other', 'not for gus');
      front.routeTo(nodeD.port);
      await waitUntil(() => reports.length === 1, 10_000);

      // Three fetched that had been missed; the fourth fetched came live as well, and counts once.
      expect(reports).toEqual([{ rooms: ['recovery-4'], recovered: false, caughtUp: 3 }]);
      const expected = ['before', 'missed 1', 'missed 2', 'missed 3', 'during catch-up'];
      expect(received.map((m) => m.message)).toEqual(expected);
      expect(received.slice(1, 4).map((m) => m.id)).toEqual(missed);
      expect(received[1]).toMatchObject({ username: 'hal', context: { roomId: 'recovery-4' } });
      // Live again on node D: the next message arrives once, as usual.
      const afterId = await post(poster, 'recovery-4', 'after');
      await waitUntil(() => received.some((m) => m.id === afterId));
      await client.onlineUsers();
      expect(received.map((m) => m.message)).toEqual([...expected, 'after']);
    });

    it('ChatClient with catchUp: false reports the reconnection unrecovered and fetches nothing', async () => {
      const [ida, jay] = [await nodeC.login('ida'), await nodeD.login('jay')];
      const front = await switchTo(nodeC);
      const client = new ChatClient({
        url: front.url,
        token: ida.token,
        reconnection: FAST_RETRY,
        catchUp: false,
      });
      closables.push(client);
      await client.connect();
      await client.join('recovery-5');
      const received: ChatMessage[] = [];
      client.on('message', (message) => received.push(message));
      const reports: ChatSyncReport[] = [];
      client.onSyncComplete((report) => reports.push(report));
      const poster = await chatSocket(nodeD, jay.token, 'recovery-5');
      await post(poster, 'recovery-5', 'before');
      await waitUntil(() => received.length === 1);

      front.cut();
      await reachState(client, ConnectionState.RECONNECTING);
      await post(poster, 'recovery-5', 'lost');
      front.routeTo(nodeD.port);
      await waitUntil(() => reports.length === 1, 10_000);

      expect(reports).toEqual([{ rooms: ['recovery-5'], recovered: false }]);
      await client.onlineUsers();
      expect(received.map((m) => m.message)).toEqual(['before']);
    });
  });
});
