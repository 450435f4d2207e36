// Smoke check of a running host, with the installed client packages: a Socket.IO client receives the
// event of POST /notifications/:page; a raw WebSocket joins a room and gets its message back; a log
// POSTed to /apps/:appId/logs reaches the log stream; a RoomsClient (nest-realtime-client) joins a room
// and sends and receives a message. Prints one JSON object: per check, { ok: true, ... } or
// { ok: false, error }.
//
//   HOST_URL=http://127.0.0.1:3000 JWT_SECRET=... node dist/client/check.js [check ...]
import { createHmac } from 'node:crypto';
import { RoomsClient } from 'nest-realtime-client';
// Both come with nest-realtime-client, as its dependencies.
import { io } from 'socket.io-client';
import WebSocket from 'ws';

const HOST_URL = process.env.HOST_URL ?? 'http://127.0.0.1:3000';
const JWT_SECRET = process.env.JWT_SECRET ?? '';
const APP_ID = process.env.APP_ID ?? 'host-app';
const WAIT_MS = Number(process.env.CHECK_WAIT_MS ?? 5000);
const WS_URL = HOST_URL.replace(/^http/, 'ws');

interface Frame {
  type: string;
  data?: unknown;
  payload?: unknown;
}

/** An HS256 JWT with the claims nest-realtime reads (sub, username, roles, appId, exp). */
function signToken(sub: string, username: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 600;
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub, username, roles: [], appId: APP_ID, exp })}`;
  return `${body}.${createHmac('sha256', JWT_SECRET).update(body).digest('base64url')}`;
}

/** Resolves when `register` calls its callback with a value, or rejects after WAIT_MS. */
function within<T>(what: string, register: (done: (value: T) => void, fail: (error: Error) => void) => void) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${WAIT_MS} ms`)), WAIT_MS);
    register(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A raw WebSocket that queues the JSON frames it receives. */
async function openWs(path: string) {
  const socket = new WebSocket(`${WS_URL}${path}`);
  const frames: Frame[] = [];
  let wake = () => {};
  socket.on('message', (raw) => {
    frames.push(JSON.parse(String(raw)) as Frame);
    wake();
  });
  await within<void>(`open ${path.split('?')[0]}`, (done, fail) => {
    socket.once('open', () => done());
    socket.once('error', fail);
  });
  const next = (test: (frame: Frame) => boolean, what: string) =>
    within<Frame>(what, (done) => {
      const look = () => {
        const index = frames.findIndex(test);
        if (index >= 0) done(frames.splice(index, 1)[0] as Frame);
      };
      wake = look;
      look();
    });
  return { socket, next, send: (frame: object) => socket.send(JSON.stringify(frame)) };
}

async function post(path: string, body: object, token?: string) {
  const response = await fetch(`${HOST_URL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

const checks: Record<string, () => Promise<object>> = {
  /** Socket.IO with a page; the host's controller emits to that page. */
  async socketIo() {
    const socket = io(HOST_URL, {
      auth: { token: signToken('101', 'ada'), page: 'dashboard' },
      transports: ['websocket'],
      reconnection: false,
    });
    try {
      await within<void>('Socket.IO connect', (done, fail) => {
        socket.once('connect', () => done());
        socket.once('connect_error', fail);
      });
      const received = within<unknown>('notification event', (done) => socket.once('notification', done));
      const answer = await post('/notifications/dashboard', { title: 'Deployed' });
      return { answer, received: await received };
    } finally {
      socket.close();
    }
  },

  /** Raw WebSocket rooms endpoint: join_room → join_room_ack, room_message → room_message. */
  async rawRooms() {
    const ws = await openWs(`/ws/chat?token=${signToken('102', 'bob')}`);
    try {
      ws.send({ type: 'join_room', data: { room: 'general' } });
      const ack = await ws.next((f) => f.type === 'join_room_ack' || f.type === 'error', 'join_room_ack');
      ws.send({ type: 'room_message', data: { room: 'general', content: 'hello over raw ws' } });
      const message = await ws.next((f) => f.type === 'room_message' || f.type === 'error', 'room_message');
      return { ack, message };
    } finally {
      ws.socket.close();
    }
  },

  /** A log POSTed for the app reaches the app's log stream. */
  async logStream() {
    const token = signToken('103', 'carol');
    const ws = await openWs(`/ws/logs?token=${token}`);
    try {
      const connect = await ws.next((f) => f.type === 'connect', 'connect frame');
      const auth = await ws.next((f) => f.type === 'auth_success' || f.type === 'auth_error', 'auth_success');
      const text = `log from the host check ${Date.now()}`;
      const ingest = await post(`/apps/${APP_ID}/logs`, { level: 'info', message: text }, token);
      const logs = await ws.next(
        (f) => f.type === 'logs' && JSON.stringify(f.payload).includes(text),
        'logs frame with the posted entry',
      );
      return { connect, auth, ingest, logs, text };
    } finally {
      ws.socket.close();
    }
  },

  /** The SDK's RoomsClient: connect, join, send, receive its own message. */
  async roomsClient() {
    const client = new RoomsClient({
      url: HOST_URL,
      token: signToken('104', 'dora'),
      reconnection: { maxReconnectAttempts: 1 },
    });
    try {
      const text = `hello from RoomsClient ${Date.now()}`;
      const received = within<unknown>('RoomsClient room_message', (done) =>
        client.on('room_message', (message) => {
          if (message.content === text) done(message);
        }),
      );
      await client.connect();
      const state = client.state;
      const ack = await client.joinRoom('general');
      const sent = await client.sendRoomMessage('general', text);
      return { state, ack, sent, received: await received, text };
    } finally {
      client.close();
    }
  },
};

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const results: Record<string, object> = {};
  for (const name of names.length > 0 ? names : Object.keys(checks)) {
    const check = checks[name];
    if (!check) throw new Error(`unknown check "${name}" (known: ${Object.keys(checks).join(', ')})`);
    try {
      results[name] = { ok: true, ...(await check()) };
    } catch (error) {
      results[name] = {
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      };
    }
  }
  console.log(JSON.stringify(results));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
