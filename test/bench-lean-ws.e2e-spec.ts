// The capacity ramps' lean members (bench/lean-ws.ts) against real ws and Socket.IO servers: every
// frame that follows a handshake step in the same read reaches the member, pings are answered, and a
// server that hangs up early fails the member instead of leaving it waiting.
import { createServer, type Server as HttpServer } from 'http';
import { createServer as createTcpServer, type AddressInfo } from 'net';
import { Server } from 'socket.io';
import { WebSocketServer } from 'ws';
import { BENCH_ROOM } from '../bench/bench-protocol';
import { LeanWs, leanIoMember, leanRoomMember } from '../bench/lean-ws';

function listen(server: HttpServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function collector(): { texts: string[]; sink: (buffer: Buffer, start: number, end: number) => void } {
  const texts: string[] = [];
  return { texts, sink: (buffer, start, end) => texts.push(buffer.toString('utf8', start, end)) };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('bench lean members', () => {
  it('rooms: keeps the frames written with the join ack, split across reads, and answers pings', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, path: '/ws/chat' });
    let pongs = 0;
    wss.on('connection', (socket) => {
      socket.on('pong', () => (pongs += 1));
      socket.on('message', () => {
        // The ack, a big frame (16-bit length) and a ping in one go.
        socket.send(JSON.stringify({ type: 'join_room_ack', data: { room: BENCH_ROOM } }));
        socket.send(JSON.stringify({ type: 'room_message', data: { content: 'x'.repeat(70_000) } }));
        socket.send(JSON.stringify({ type: 'room_message', data: { content: 'small' } }));
        socket.ping();
      });
    });
    const port = await listen(http);
    const { texts, sink } = collector();
    const member = await leanRoomMember(port, undefined, sink);
    try {
      await until(() => texts.length === 2 && pongs === 1);
      expect(texts.map((t) => (JSON.parse(t) as { data: { content: string } }).data.content.length)).toEqual([
        70_000, 5,
      ]);
    } finally {
      member.close();
      wss.close();
      http.close();
    }
  });

  it('Socket.IO: gets the message emitted right after the join ack, and answers engine pings', async () => {
    const http = createServer();
    const io = new Server(http, { transports: ['websocket'], pingInterval: 100, pingTimeout: 200 });
    io.on('connection', (socket) => {
      socket.on('join', (body: { roomId: string }, ack: (answer: unknown) => void) => {
        void socket.join(body.roomId);
        ack({ joined: true });
        socket.emit('message', { message: 'right after the ack' });
      });
    });
    const port = await listen(http);
    const { texts, sink } = collector();
    const member = await leanIoMember(port, 'token', sink);
    try {
      await until(() => texts.length === 1);
      expect(texts[0]).toBe('42["message",{"message":"right after the ack"}]');
      // Several ping intervals later the server still holds the connection (pongs answered).
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(io.engine.clientsCount).toBe(1);
    } finally {
      member.close();
      await io.close();
    }
  });

  it('fails a member whose server closes before the upgrade answer', async () => {
    const tcp = createTcpServer((socket) => socket.end());
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()));
    const port = (tcp.address() as AddressInfo).port;
    try {
      await expect(LeanWs.open(port, '/ws/chat')).rejects.toThrow('closed before the upgrade answer');
    } finally {
      tcp.close();
    }
  });
});
