// Baseline of the connections group: bare-socketio.ts (same `join` / `message` room fan-out) with the
// check the chat gateway makes at the handshake: `auth.token` verified with jsonwebtoken (HS256,
// BENCH_KEY) in a Socket.IO middleware; a CONNECT without a valid token gets connect_error.
// No limits, no storage, no presence.
import { createServer } from 'http';
import * as jwt from 'jsonwebtoken';
import { Server } from 'socket.io';
import { announceReady, BENCH_KEY, serveUsage } from '../bench-protocol';
import { serveBareChat } from './bare-rooms';

const server = createServer();
const io = new Server(server, { transports: ['websocket'] });

io.use((socket, next) => {
  const token: unknown = (socket.handshake.auth as { token?: unknown }).token;
  if (typeof token !== 'string') {
    next(new Error('Authentication required'));
    return;
  }
  try {
    const claims = jwt.verify(token, BENCH_KEY, { algorithms: ['HS256'] }) as { sub?: string };
    (socket.data as { userId?: string }).userId = claims.sub;
    next();
  } catch {
    next(new Error('Token invalid'));
  }
});

serveBareChat(io, (socket) => {
  const userId = (socket.data as { userId?: string }).userId ?? '';
  return { userId, username: `bench${userId}` };
});

serveUsage(
  () => io.engine.clientsCount,
  () => new Promise((resolve) => void io.close(() => resolve())),
);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as { port: number }).port));
