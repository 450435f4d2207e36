// The room fan-out the bare baselines share with the gateways' protocols, without auth or storage.
// Raw ws (bare-ws.ts, bare-ws-auth.ts): join_room answered with the gateway's ack, room_message
// serialised once and sent to every member with ws's `send`. Socket.IO (bare-socketio.ts,
// bare-socketio-auth.ts): `join` acknowledged, `message` emitted to the room once.
import type { Server, Socket } from 'socket.io';
import { WebSocket } from 'ws';
import { joinRoomAckFrame, roomMessageFrame, type BareInboundFrame } from '../bench-protocol';

export class BareWsRooms {
  private readonly rooms = new Map<string, Set<WebSocket>>();
  private nextId = 1;

  /** Serves one connection of user `userId` until it closes. */
  accept(socket: WebSocket, userId: number): void {
    const joined = new Set<string>();
    socket.on('message', (raw) => {
      const frame = JSON.parse((raw as Buffer).toString('utf8')) as BareInboundFrame;
      if (frame.type === 'join_room') {
        const members = this.rooms.get(frame.data.room) ?? new Set<WebSocket>();
        members.add(socket);
        this.rooms.set(frame.data.room, members);
        joined.add(frame.data.room);
        socket.send(joinRoomAckFrame(frame.data.room));
      } else if (frame.type === 'room_message') {
        const text = roomMessageFrame(this.nextId++, frame.data.content ?? '', userId);
        for (const member of this.rooms.get(frame.data.room) ?? []) {
          if (member.readyState === WebSocket.OPEN) member.send(text);
        }
      }
    });
    socket.on('close', () => {
      for (const room of joined) this.rooms.get(room)?.delete(socket);
    });
  }
}

/** Serves `join` and `message` on every connection of `io`; `sender` names who sent a message. */
export function serveBareChat(
  io: Server,
  sender: (socket: Socket) => { userId: string; username: string },
): void {
  let nextId = 1;
  io.on('connection', (socket) => {
    const { userId, username } = sender(socket);
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
          userId,
          username,
        });
        ack?.({ id });
      },
    );
  });
}
