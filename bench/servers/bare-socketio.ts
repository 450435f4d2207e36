// Baseline: a plain Socket.IO server with the same room fan-out as the chat gateway (`join`, then
// `message` to the room's sockets). No auth, no storage.
import { createServer } from 'http';
import { Server } from 'socket.io';
import { announceReady, serveUsage } from '../bench-protocol';
import { serveBareChat } from './bare-rooms';

const server = createServer();
const io = new Server(server, { transports: ['websocket'] });
// Sent by the socket's id, as before the servers shared the fan-out.
serveBareChat(io, (socket) => ({ userId: socket.id, username: 'bench' }));

serveUsage(
  () => io.engine.clientsCount,
  () => new Promise((resolve) => void io.close(() => resolve())),
);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as { port: number }).port));
