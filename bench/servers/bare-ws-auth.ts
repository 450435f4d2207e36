// Baseline of the connections group: bare-ws.ts (same room fan-out and JSON, `send` per member) with
// the check the rooms gateway makes at the upgrade: the `token` query parameter verified with
// jsonwebtoken (HS256, BENCH_KEY). An upgrade without a valid token is refused with 401 before
// ws takes it. No limits, no storage, no presence, no heartbeat.
import { createServer, type IncomingMessage } from 'http';
import * as jwt from 'jsonwebtoken';
import type { Duplex } from 'stream';
import { WebSocketServer } from 'ws';
import { announceReady, BENCH_KEY, serveUsage } from '../bench-protocol';
import { BareWsRooms } from './bare-rooms';

const server = createServer();
const wss = new WebSocketServer({ noServer: true });
const rooms = new BareWsRooms();

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
  wss.handleUpgrade(request, socket, head, (ws) => rooms.accept(ws, userId));
});

serveUsage(
  () => wss.clients.size,
  () => new Promise((resolve) => server.close(() => resolve())),
);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as { port: number }).port));
