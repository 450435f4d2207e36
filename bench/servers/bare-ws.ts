// Baseline: the fastest plain `ws` server with the same room fan-out and JSON as the rooms gateway
// (join_room, room_message serialised once and written to every member). No auth, no storage.
import { createServer } from 'http';
import { WebSocketServer } from 'ws';
import { announceReady, serveUsage } from '../bench-protocol';
import { BareWsRooms } from './bare-rooms';

const server = createServer();
const wss = new WebSocketServer({ server, path: '/ws/chat' });
const rooms = new BareWsRooms();
let nextUser = 1;

wss.on('connection', (socket) => rooms.accept(socket, nextUser++));

serveUsage(
  () => wss.clients.size,
  () => new Promise((resolve) => server.close(() => resolve())),
);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as { port: number }).port));
