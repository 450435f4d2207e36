// Graceful shutdown (limits.shutdownGraceMs): new connections, frames and log batches are refused from
// the first moment, the writes in flight finish and are acknowledged, then raw ws clients are closed
// with 1001 "Server shutting down" and Socket.IO clients lose their transport ("transport close"), so
// that every client reconnects by itself. First in process, step by step around one write held in
// flight; then a real node sent SIGTERM in the middle of a burst of messages and log batches, which
// exits 0 and restarts on the same port and data: every acknowledged message is in the history, every
// batch answered 202 in the log backlog, and the SDK's clients reconnect and catch up, once each.
import { get, type IncomingMessage } from 'http';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { MESSAGE_STORE, type LogEntry, type MessageRecord, type MessageStore } from 'nest-realtime';
import { TransportCounters } from 'nest-realtime/core/metrics/transport-counters.service';
import { ShutdownCoordinator } from 'nest-realtime/core/transport/shutdown-coordinator';
import {
  ChatClient,
  ConnectionState,
  RealtimeErrorCode,
  RoomsClient,
  type ChatMessage,
  type ChatSyncReport,
  type MessageHistoryData,
  type RealtimeErrorPayload,
  type RoomMessagePayload,
  type RoomsSyncReport,
  type WebSocketConstructor,
} from 'nest-realtime-client';
import type { LoginResult } from '../apps/sample/src/auth/auth.service';
import { eventually, reachState, RestartableSample } from './support/client-sample';
import { ioRefusal, nextEvent, TestWs, type WsFrame } from './support/clients';
import { startSampleNode, type SampleNode } from './support/sample-node';

const ROOM = 'general';
const SHUTDOWN_CLOSE = { code: 1001, reason: 'Server shutting down' };
const FAST_RETRY = { reconnectDelay: 50, maxReconnectDelay: 300, maxReconnectAttempts: 400 };

/** A Socket.IO client as an application has it: socket.io-client's own reconnection on. */
function reconnectingSocket(url: string, token: string): Socket {
  return io(url, {
    auth: { token },
    transports: ['websocket'],
    forceNew: true,
    reconnectionDelay: 50,
    reconnectionDelayMax: 300,
  });
}

/** The status of a WebSocket upgrade the server answers without upgrading (e.g. 503), or 101. */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response: IncomingMessage) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

/** GET on 127.0.0.1: status and body. */
function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).once('error', reject);
  });
}

/** Every message of a room, oldest first, read page by page with after_id over a rooms connection. */
async function roomHistory(
  wsUrl: string,
  token: string,
  room: string,
): Promise<Array<{ id: number; content: string }>> {
  const reader = await TestWs.open(`${wsUrl}/ws/chat?token=${token}`);
  try {
    const all: Array<{ id: number; content: string }> = [];
    for (let page = 0; ; page++) {
      const ref = `history-${page}`;
      reader.send({ type: 'room_history', data: { room, after_id: all.at(-1)?.id ?? 0, limit: 100 }, ref });
      const answer = await reader.nextMatching((f) => f.ref === ref, 10_000);
      expect(answer.type).toBe('message_history');
      const data = answer.data as MessageHistoryData;
      all.push(...data.messages.map(({ id, content }) => ({ id, content })));
      if (!data.has_more) return all;
    }
  } finally {
    reader.close();
  }
}

/**
 * A burst of room messages on a rooms connection, `window` of them unanswered at any time, until the
 * connection closes: the n-th carries the ref `b-<n>`, and is answered by its room_message (stored)
 * or by an error.
 */
function startBurst(client: TestWs, room: string, window: number) {
  const acked: number[] = [];
  const refused: number[] = [];
  const unexpected: WsFrame[] = [];
  let sent = 0;
  const topUp = (): void => {
    const answered = acked.length + refused.length + unexpected.length;
    while (client.socket.readyState === WebSocket.OPEN && sent - answered < window) {
      client.send({ type: 'room_message', data: { room, content: `burst ${sent}` }, ref: `b-${sent}` });
      sent += 1;
    }
  };
  client.socket.on('message', (raw: Buffer) => {
    const frame = JSON.parse(raw.toString('utf8')) as WsFrame;
    if (frame.ref === undefined || !frame.ref.startsWith('b-')) return;
    const n = Number(frame.ref.slice(2));
    if (frame.type === 'room_message') acked.push(n);
    else if (frame.type === 'error' && (frame.data as RealtimeErrorPayload).code === 'SHUTTING_DOWN')
      refused.push(n);
    else unexpected.push(frame);
    topUp();
  });
  topUp();
  return { acked, refused, unexpected, sent: () => sent };
}

/** 0, 1, … n-1 from `from`. */
const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/** A `ws` class for the SDK whose connection the test can cut, and whose next ones fail while held. */
class HoldableWebSocket {
  held = false;
  private current: WebSocket | null = null;
  readonly WebSocket: WebSocketConstructor;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below reads the holder
    const holder = this;
    this.WebSocket = class extends WebSocket {
      constructor(url: string) {
        // Port 1 on loopback refuses the connection, as a server that is down does.
        super(holder.held ? url.replace(/^(wss?:\/\/[^/:]+):\d+/, '$1:1') : url);
        holder.current = this;
      }
    };
  }

  /** Drops the open connection and holds the next ones off until `release()`. */
  cut(): void {
    this.held = true;
    this.current?.terminate();
  }

  release(): void {
    this.held = false;
  }
}

describe('Graceful shutdown', () => {
  describe('app.close(), step by step around a write in flight', () => {
    const sample = new RestartableSample();
    const closables: Array<{ close(): void }> = [];

    beforeAll(() => sample.start());
    afterAll(async () => {
      for (const closable of closables) closable.close();
      await sample.dispose();
    });

    it('refuses connections, frames and log batches, delivers the write in flight, then closes 1001 and ends the Socket.IO transport; the SDK sends its refused messages again once reconnected', async () => {
      const wsUrl = sample.url.replace('http', 'ws');
      const writer = await sample.login('drain-writer');
      const reader = await sample.login('drain-reader');
      const producer = await sample.login('drain-producer', { appId: 'drain-app' });
      const app = sample.application;

      // The next message insert waits until the test lets it through: a write in flight at shutdown.
      const store = app.get<MessageStore>(MESSAGE_STORE);
      const insert = store.insert.bind(store);
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let inserting!: () => void;
      const insertStarted = new Promise<void>((resolve) => (inserting = resolve));
      store.insert = async (record: MessageRecord): Promise<number> => {
        inserting();
        await released;
        return insert(record);
      };

      // The writer's frames wait behind its message in flight (a connection's frames are handled in
      // order): another connection sends what arrives during the shutdown.
      const raw = await TestWs.open(`${wsUrl}/ws/chat?token=${writer.token}`);
      const other = await TestWs.open(`${wsUrl}/ws/chat?token=${reader.token}`);
      closables.push(raw, other);
      for (const client of [raw, other]) {
        client.send({ type: 'join_room', data: { room: ROOM } });
        await client.next('join_room_ack');
      }
      const chat = reconnectingSocket(sample.url, reader.token);
      closables.push(chat);
      await nextEvent(chat, 'connect');
      // The SDK's clients: what the server refuses as it shuts down, they send again once reconnected.
      const sdkOptions = { url: sample.url, reconnection: FAST_RETRY, retryFirstConnection: false };
      const sdkRooms = new RoomsClient({
        ...sdkOptions,
        token: (await sample.login('drain-sdk-rooms')).token,
      });
      const sdkChat = new ChatClient({ ...sdkOptions, token: (await sample.login('drain-sdk-chat')).token });
      closables.push(sdkRooms, sdkChat);
      await Promise.all([sdkRooms.connect(), sdkChat.connect()]);
      await sdkRooms.joinRoom(ROOM);

      // What each client sees, in order.
      const rawSeen: string[] = [];
      raw.socket.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString('utf8')) as WsFrame;
        if (frame.ref !== undefined) rawSeen.push(`${frame.type} ${frame.ref}`);
      });
      raw.socket.on('close', (code: number) => rawSeen.push(`close ${code}`));
      const chatSeen: string[] = [];
      chat.on('message', (message: ChatMessage) => chatSeen.push(`message ${message.message}`));
      chat.on('disconnect', (reason: string) => chatSeen.push(`disconnect ${reason}`));
      const chatGone = nextEvent<string>(chat, 'disconnect', 20_000);

      raw.send({ type: 'room_message', data: { room: ROOM, content: 'in flight' }, ref: 'in-flight' });
      await insertStarted;
      const closing = sample.stop();
      const shutdown = app.get(ShutdownCoordinator);
      await eventually(() => shutdown.draining, 10_000, 'the shutdown draining');

      // 1. No new connection: a raw ws upgrade is answered 503, an engine.io handshake 403.
      expect(await upgradeStatus(`${wsUrl}/ws/chat?token=${writer.token}`)).toBe(503);
      const handshake = await httpGet(`${sample.url}/socket.io/?EIO=4&transport=polling`);
      expect(handshake.status).toBe(403);
      expect(JSON.parse(handshake.body)).toMatchObject({ message: 'Server shutting down' });
      await expect(ioRefusal(sample.url, { token: reader.token })).resolves.toBeInstanceOf(Error);

      // 2. A frame, an event or a log batch received now is refused with SHUTTING_DOWN, never acknowledged.
      other.send({ type: 'room_message', data: { room: ROOM, content: 'too late' }, ref: 'too-late' });
      expect(await other.nextMatching((f) => f.ref === 'too-late')).toMatchObject({
        type: 'error',
        data: { code: RealtimeErrorCode.SHUTTING_DOWN },
      });
      // A heartbeat stores nothing: still answered.
      other.send({ type: 'ping', data: {}, ref: 'still-alive' });
      expect(await other.nextMatching((f) => f.ref === 'still-alive')).toMatchObject({ type: 'pong' });
      expect(await chat.timeout(5000).emitWithAck('message', { message: 'too late over socket.io' })).toEqual(
        {
          error: expect.objectContaining({ code: RealtimeErrorCode.SHUTTING_DOWN }) as unknown,
        },
      );
      const batch = await request(sample.url)
        .post('/apps/drain-app/logs')
        .set('Authorization', `Bearer ${producer.token}`)
        .send([{ level: 'info', message: 'too late' }]);
      expect(batch.status).toBe(503);
      expect(batch.body).toMatchObject({ statusCode: 503, code: RealtimeErrorCode.SHUTTING_DOWN });

      // The SDK's sends are refused too, and wait: they go again once the clients have reconnected.
      let sdkSettled = 0;
      const counters = app.get(TransportCounters);
      const errorsBefore = counters.errorsSent;
      const sdkRoomSend = sdkRooms.sendRoomMessage(ROOM, 'sdk rooms during the drain');
      const sdkChatSend = sdkChat.sendMessage('sdk chat during the drain', { roomId: ROOM });
      for (const send of [sdkRoomSend, sdkChatSend]) void send.finally(() => (sdkSettled += 1));
      // Both refused (a frame still unread when the connections close would be lost to CONNECTION_LOST).
      await eventually(() => counters.errorsSent >= errorsBefore + 2, 10_000, 'the SDK sends refused');

      // Nothing is closed while the write is in flight.
      expect([raw.socket.readyState, other.socket.readyState]).toEqual([WebSocket.OPEN, WebSocket.OPEN]);
      expect(chat.connected).toBe(true);

      // 3. The write finishes: stored and delivered (the sender's copy is its acknowledgement); then
      // 4. close 1001 with the reason, and 5. the Socket.IO transport closes: the client will reconnect.
      release();
      expect(await raw.closedWithin(10_000)).toEqual(SHUTDOWN_CLOSE);
      expect(await other.closedWithin(10_000)).toEqual(SHUTDOWN_CLOSE);
      expect(rawSeen).toEqual(['room_message in-flight', 'close 1001']);
      expect(await chatGone).toBe('transport close');
      expect(chatSeen).toEqual(['message in flight', 'disconnect transport close']);
      expect(chat.active).toBe(true);
      await closing;

      expect(sdkSettled).toBe(0);

      await sample.start();
      await nextEvent(chat, 'connect', 20_000);
      await Promise.all([sdkRoomSend, sdkChatSend]);
      const history = await roomHistory(wsUrl, writer.token, ROOM);
      expect(history.map((message) => message.content).sort()).toEqual(
        ['in flight', 'sdk chat during the drain', 'sdk rooms during the drain'].sort(),
      );
      expect(history[0]?.content).toBe('in flight');
    }, 60_000);
  });

  describe('SIGTERM to a sample node in the middle of a burst', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rt-e2e-graceful-'));
    const env = {
      DATA_DIR: dataDir,
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_PER_HOUR: '10000000',
    };
    const closables: Array<{ close(): void }> = [];
    const track = <T extends { close(): void }>(closable: T): T => {
      closables.push(closable);
      return closable;
    };
    let node: SampleNode;

    beforeAll(async () => {
      node = await startSampleNode({ name: 'graceful', env, bootTimeoutMs: 60_000 });
    }, 90_000);
    afterAll(async () => {
      for (const closable of closables) closable.close();
      await node?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('exits 0 in time; no acknowledged message or accepted log batch is lost; every client reconnects and catches up once', async () => {
      const url = `http://${node.address}`;
      const wsUrl = `ws://${node.address}`;
      const login = async (username: string, appId?: string): Promise<LoginResult> =>
        (
          await request(url)
            .post('/auth/login')
            .send(appId === undefined ? { username } : { username, appId })
            .expect(200)
        ).body as LoginResult;
      const [writer, chatter, roomsUser, chatUser, lateUser, poster, producer] = await Promise.all([
        login('burst-writer'),
        login('io-chatter'),
        login('sdk-rooms'),
        login('sdk-chat'),
        login('sdk-late'),
        login('poster'),
        login('log-producer', 'graceful-app'),
      ]);

      // The SDK's clients, each recording the ids it delivers in the room.
      const options = { url, reconnection: FAST_RETRY, retryFirstConnection: false };
      const rooms = track(new RoomsClient({ ...options, token: roomsUser.token }));
      const chat = track(new ChatClient({ ...options, token: chatUser.token }));
      const holdable = new HoldableWebSocket();
      const late = track(
        new RoomsClient({ ...options, token: lateUser.token, webSocket: holdable.WebSocket }),
      );
      await Promise.all([rooms.connect(), chat.connect(), late.connect()]);
      await Promise.all([rooms.joinRoom(ROOM), late.joinRoom(ROOM)]);
      const roomsSeen: number[] = [];
      const lateSeen: number[] = [];
      const chatSeen: number[] = [];
      rooms.on('room_message', (message: RoomMessagePayload) => {
        if (message.room === ROOM) roomsSeen.push(message.id);
      });
      late.on('room_message', (message: RoomMessagePayload) => {
        if (message.room === ROOM) lateSeen.push(message.id);
      });
      chat.on('message', (message: ChatMessage) => {
        chatSeen.push(Number(message.id));
      });
      const roomsSyncs: RoomsSyncReport[] = [];
      const lateSyncs: RoomsSyncReport[] = [];
      const chatSyncs: ChatSyncReport[] = [];
      rooms.onSyncComplete((report) => roomsSyncs.push(report));
      late.onSyncComplete((report) => lateSyncs.push(report));
      chat.onSyncComplete((report) => chatSyncs.push(report));
      // The late client is away during the burst: what it misses, it must catch up after the restart.
      holdable.cut();
      await reachState(late, ConnectionState.RECONNECTING);

      // A Socket.IO client with socket.io-client's own reconnection, sending with acknowledgements.
      const chatterSocket = track(reconnectingSocket(url, chatter.token));
      const chatterReasons: string[] = [];
      let chatterConnects = 0;
      chatterSocket.on('connect', () => (chatterConnects += 1));
      chatterSocket.on('disconnect', (reason: string) => chatterReasons.push(reason));
      await eventually(() => chatterConnects === 1, 10_000, 'the Socket.IO client connected');

      // The burst: a raw ws client sends its messages without waiting, a log producer posts batches.
      const burst = await TestWs.open(`${wsUrl}/ws/chat?token=${writer.token}`);
      track(burst);
      burst.send({ type: 'join_room', data: { room: ROOM } });
      await burst.next('join_room_ack');
      const answers = startBurst(burst, ROOM, 100);
      const ioAcked: string[] = [];
      const ioRefused: string[] = [];
      const chatting = (async () => {
        for (let n = 0; n < 500 && chatterSocket.connected; n++) {
          const text = `io ${n}`;
          let answer: { id?: string; error?: RealtimeErrorPayload };
          try {
            answer = (await chatterSocket
              .timeout(5000)
              .emitWithAck('message', { message: text })) as typeof answer;
          } catch {
            return; // no answer: the transport closed meanwhile
          }
          if (answer.error?.code === RealtimeErrorCode.SHUTTING_DOWN) ioRefused.push(text);
          else if (answer.id !== undefined) ioAcked.push(text);
          else throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
        }
      })();
      const accepted: string[] = [];
      /** How the producer stopped: a 503 while draining, or no server any more (for failure messages). */
      const refusedBatches: string[] = [];
      const producing = (async () => {
        // At most 95 entries: the backlog read after the restart holds the newest 100.
        for (let n = 0; n < 95; n++) {
          const text = `batch ${n}`;
          try {
            const response = await request(url)
              .post('/apps/graceful-app/logs')
              .set('Authorization', `Bearer ${producer.token}`)
              .send([{ level: 'info', message: text }]);
            if (response.status === 202) {
              accepted.push(text);
              continue;
            }
            expect(response.status).toBe(503);
            expect(response.body).toMatchObject({ code: RealtimeErrorCode.SHUTTING_DOWN });
            refusedBatches.push(`${text}: 503`);
          } catch (error) {
            refusedBatches.push(`${text}: ${(error as Error).message}`);
          }
          return;
        }
      })();

      // SIGTERM mid-burst.
      await eventually(
        () => answers.acked.length >= 40 && ioAcked.length >= 5 && accepted.length >= 10,
        30_000,
        'messages and log batches acknowledged',
      );
      const exit = await node.terminate();
      await Promise.all([chatting, producing]);

      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
      // Within the grace (limits.shutdownGraceMs, 10 s by default) and a margin for the rest of the close.
      expect(exit.ms).toBeLessThan(15_000);
      expect(await burst.closedWithin(1000)).toEqual(SHUTDOWN_CLOSE);
      expect(chatterReasons[0]).toBe('transport close');
      expect(chatterSocket.active).toBe(true);
      // Frames are handled in order: those received before the shutdown were all stored and
      // acknowledged, the next ones refused (the drain is short here: often none, the in-process
      // test above holds one open), the rest dropped unanswered (they arrived after the close).
      expect(answers.unexpected).toEqual([]);
      expect(answers.acked).toEqual(range(0, answers.acked.length));
      expect(answers.refused).toEqual(range(answers.acked.length, answers.refused.length));

      // The same node again: same port, same data.
      node = await startSampleNode({ name: 'graceful', port: node.port, env, bootTimeoutMs: 60_000 });
      holdable.release();
      await eventually(() => chatterConnects === 2, 30_000, 'the Socket.IO client reconnected by itself');
      await eventually(
        () => roomsSyncs.length >= 1 && chatSyncs.length >= 1 && lateSyncs.length >= 1,
        30_000,
        'the SDK clients synchronised after the restart',
      );
      // A message posted after the restart reaches every client live.
      const after = await TestWs.open(`${wsUrl}/ws/chat?token=${poster.token}`);
      track(after);
      after.send({ type: 'join_room', data: { room: ROOM } });
      await after.next('join_room_ack');
      after.send({ type: 'room_message', data: { room: ROOM, content: 'after the restart' }, ref: 'after' });
      const posted = (await after.nextMatching((f) => f.ref === 'after', 10_000)).data as RoomMessagePayload;
      await eventually(
        () => [roomsSeen, lateSeen, chatSeen].every((seen) => seen.includes(posted.id)),
        15_000,
        'the message posted after the restart delivered to every SDK client',
      );

      // Every acknowledged message is stored, no refused one is.
      const history = await roomHistory(wsUrl, poster.token, ROOM);
      const contents = new Set(history.map((message) => message.content));
      for (const n of answers.acked) expect(contents.has(`burst ${n}`)).toBe(true);
      for (const n of answers.refused) expect(contents.has(`burst ${n}`)).toBe(false);
      for (const text of ioAcked) expect(contents.has(text)).toBe(true);
      for (const text of ioRefused) expect(contents.has(text)).toBe(false);
      // Each SDK client delivered the room's whole history once: live, or caught up after the restart.
      const ids = history.map((message) => message.id);
      for (const seen of [roomsSeen, lateSeen, chatSeen]) {
        expect(seen.length).toBe(new Set(seen).size);
        expect([...seen].sort((a, b) => a - b)).toEqual(ids);
      }
      // The late client missed acknowledged messages, and got them from the history.
      expect(lateSyncs.reduce((sum, report) => sum + report.roomMessages, 0)).toBeGreaterThanOrEqual(
        answers.acked.length,
      );

      // Every batch answered 202 is in the backlog the log stream sends after a restart.
      const stream = await TestWs.open(`${wsUrl}/ws/logs?token=${producer.token}`);
      track(stream);
      await stream.next('auth_success');
      const backlog = ((await stream.next('logs')).payload as LogEntry[]).map((entry) => entry.message);
      expect(accepted.length).toBeGreaterThan(0);
      expect(backlog.filter((message) => message.startsWith('batch '))).toEqual(accepted);
    }, 180_000);
  });
});
