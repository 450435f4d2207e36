// Baseline of the connections group: bare-ws.ts (same room fan-out and JSON, `send` per member) with
// the check the rooms gateway makes at the upgrade: the `token` query parameter verified with
// jsonwebtoken (HS256, BENCH_KEY). An upgrade without a valid token is refused with 401 before
// ws takes it. No limits, no storage, no presence, no heartbeat.
import { createServer, type IncomingMessage } from 'http';
import * as jwt from 'jsonwebtoken';
import type { Duplex } from 'stream';
import { WebSocket, WebSocketServer } from 'ws';
import {
  announceReady,
  BENCH_KEY,
  joinRoomAckFrame,
  roomMessageFrame,
  type BareInboundFrame,
  serveUsage,
} from '../bench-protocol';

const server = createServer();
const wss = new WebSocketServer({ noServer: true });
const rooms = new Map<string, Set<WebSocket>>();
let nextId = 1;

/** The user id of a valid token in the upgrade's query string; null otherwise. */
function verifiedUser(request: IncomingMessage): number | null {
  const token = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
  if (!token) return null;
  try {
    const claims = jwt.verify(token, BENCH_KEY, { algorithms: ['HS256'] }) as { sub?: string };
    return Number(claims.sub);
  } catch {
    // An invalid token is a refused upgrade, not an error of the server.
    return null;
  }
}

server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
  if (!request.url?.startsWith('/ws/chat')) {
    socket.destroy();
    return;
  }
  const userId = verifiedUser(request);
  if (userId === null) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(request, socket, head, (ws) => accept(ws, userId));
});

function accept(socket: WebSocket, userId: number): void {
  const joined = new Set<string>();
  socket.on('message', (raw) => {
    const frame = JSON.parse((raw as Buffer).toString('utf8')) as BareInboundFrame;
    if (frame.type === 'join_room') {
      const members = rooms.get(frame.data.room) ?? new Set<WebSocket>();
      members.add(socket);
      rooms.set(frame.data.room, members);
      joined.add(frame.data.room);
      socket.send(joinRoomAckFrame(frame.data.room));
    } else if (frame.type === 'room_message') {
      const text = roomMessageFrame(nextId++, frame.data.content ?? '', userId);
      for (const member of rooms.get(frame.data.room) ?? []) {
        if (member.readyState === WebSocket.OPEN) member.send(text);
      }
    }
  });
  socket.on('close', () => {
    for (const room of joined) rooms.get(room)?.delete(socket);
  });
}

serveUsage(
  () => wss.clients.size,
  () => new Promise((resolve) => server.close(() => resolve())),
);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as { port: number }).port));
