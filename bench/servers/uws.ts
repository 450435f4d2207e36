// Near-limit reference: uWebSockets.js with its native publish, same frames as the bare ws server.
import {
  announceReady,
  joinRoomAckFrame,
  roomMessageFrame,
  type BareInboundFrame,
  serveUsage,
} from '../bench-protocol';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const uWS = require('uWebSockets.js') as typeof import('uWebSockets.js');

interface Peer {
  userId: number;
}

let nextId = 1;
let nextUser = 1;
let open = 0;
let listenSocket: unknown = null;

const app = uWS.App().ws<Peer>('/ws/chat', {
  maxPayloadLength: 1024 * 1024,
  upgrade: (res, req, context) => {
    res.upgrade<Peer>(
      { userId: nextUser++ },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: () => {
    open += 1;
  },
  close: () => {
    open -= 1;
  },
  message: (socket, raw) => {
    const frame = JSON.parse(Buffer.from(raw).toString('utf8')) as BareInboundFrame;
    if (frame.type === 'join_room') {
      socket.subscribe(frame.data.room);
      socket.send(joinRoomAckFrame(frame.data.room));
    } else if (frame.type === 'room_message') {
      app.publish(
        frame.data.room,
        roomMessageFrame(nextId++, frame.data.content ?? '', socket.getUserData().userId),
      );
    }
  },
});

serveUsage(
  () => open,
  async () => {
    if (listenSocket) uWS.us_listen_socket_close(listenSocket);
  },
);
app.listen('127.0.0.1', 0, (socket) => {
  listenSocket = socket;
  announceReady(uWS.us_socket_local_port(socket));
});
