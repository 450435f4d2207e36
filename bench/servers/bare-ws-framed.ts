// Reference: bare `ws` with the rooms gateway's own broadcast technique. A room message is framed
// once (the library's frameText) and those bytes are written to each member's upgraded socket,
// past ws's sender, as the gateway does for connections without extensions. It shows what the
// gateway costs over a plain server that delivers as cheaply, where bare-ws.ts is the plain server
// written with ws's API (`send` per member). No auth, no storage.
import { createServer } from 'http';
import type { Duplex } from 'stream';
import { WebSocket, WebSocketServer } from 'ws';
import { frameText } from '../../libs/realtime/src/core/transport/text-frame';
import {
  announceReady,
  joinRoomAckFrame,
  roomMessageFrame,
  type BareInboundFrame,
  serveUsage,
} from '../bench-protocol';

const server = createServer();
const wss = new WebSocketServer({ noServer: true });
const rooms = new Map<string, Map<WebSocket, Duplex>>();
let nextId = 1;
let nextUser = 1;
let clients = 0;

server.on('upgrade', (request, socket: Duplex, head: Buffer) => {
  if (!request.url?.startsWith('/ws/chat')) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(request, socket, head, (ws) => accept(ws, socket));
});

function accept(ws: WebSocket, raw: Duplex): void {
  const userId = nextUser++;
  const joined = new Set<string>();
  clients += 1;
  ws.on('message', (data) => {
    const frame = JSON.parse((data as Buffer).toString('utf8')) as BareInboundFrame;
    if (frame.type === 'join_room') {
      const members = rooms.get(frame.data.room) ?? new Map<WebSocket, Duplex>();
      members.set(ws, raw);
      rooms.set(frame.data.room, members);
      joined.add(frame.data.room);
      ws.send(joinRoomAckFrame(frame.data.room));
    } else if (frame.type === 'room_message') {
      const wire = frameText(
        Buffer.from(roomMessageFrame(nextId++, frame.data.content ?? '', userId), 'utf8'),
      );
      for (const [member, socket] of rooms.get(frame.data.room) ?? []) {
        if (member.readyState === WebSocket.OPEN) socket.write(wire);
      }
    }
  });
  ws.on('close', () => {
    clients -= 1;
    for (const room of joined) rooms.get(room)?.delete(ws);
  });
}

serveUsage(
  () => clients,
  () => new Promise((resolve) => server.close(() => resolve())),
);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as { port: number }).port));
