// Baseline: the fastest plain `ws` server with the same room fan-out and JSON as the rooms gateway
// (join_room, room_message serialised once and written to every member). No auth, no storage.
import { createServer } from 'http';
import { WebSocket, WebSocketServer } from 'ws';
import {
  announceReady,
  joinRoomAckFrame,
  roomMessageFrame,
  type BareInboundFrame,
  serveUsage,
} from '../bench-protocol';

const server = createServer();
const wss = new WebSocketServer({ server, path: '/ws/chat' });
const rooms = new Map<string, Set<WebSocket>>();
let nextId = 1;
let nextUser = 1;

wss.on('connection', (socket) => {
  const userId = nextUser++;
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
});

serveUsage(
  () => wss.clients.size,
  () => new Promise((resolve) => server.close(() => resolve())),
);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as { port: number }).port));
