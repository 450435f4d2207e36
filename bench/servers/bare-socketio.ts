// Baseline: a plain Socket.IO server with the same room fan-out as the chat gateway (`join`, then
// `message` to the room's sockets). No auth, no storage.
import { createServer } from 'http';
import { Server } from 'socket.io';
import { announceReady, serveUsage } from '../bench-protocol';

const server = createServer();
const io = new Server(server, { transports: ['websocket'] });
let nextId = 1;

io.on('connection', (socket) => {
  socket.on('join', (body: { roomId: string }, ack?: (answer: unknown) => void) => {
    void socket.join(`room:${body.roomId}`);
    ack?.({ roomId: body.roomId, joined: true });
  });
  socket.on(
    'message',
    (body: { message: string; context: { roomId: string } }, ack?: (answer: unknown) => void) => {
      const id = String(nextId++);
      io.to(`room:${body.context.roomId}`).emit('message', {
        id,
        message: body.message,
        timestamp: new Date().toISOString(),
        context: { roomId: body.context.roomId },
        userId: socket.id,
        username: 'bench',
      });
      ack?.({ id });
    },
  );
});

serveUsage(
  () => io.engine.clientsCount,
  () => new Promise((resolve) => void io.close(() => resolve())),
);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as { port: number }).port));
