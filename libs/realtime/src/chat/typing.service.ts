// Typing indicators: `userTyping` to the other members of the socket's rooms (never to the sender's
// own sockets); a `true` not followed by `false` expires by itself.
import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { SocketIoServerRef } from '../core/transport/socket-io-server.ref';
import type { UserTypingPayload } from '../protocol';
import { REALTIME_OPTIONS, ROOM_PREFIX } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';

interface Typing {
  timer: NodeJS.Timeout;
  user: RealtimeIdentity;
  rooms: string[];
}

@Injectable()
export class TypingService implements BeforeApplicationShutdown {
  private readonly typing = new Map<string, Typing>();

  constructor(
    private readonly serverRef: SocketIoServerRef,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  /** `socketRooms`: the Socket.IO rooms of the socket (its chat rooms are picked out). */
  set(socketId: string, socketRooms: Iterable<string>, user: RealtimeIdentity, isTyping: boolean): void {
    const current = this.typing.get(socketId);
    if (current) clearTimeout(current.timer);
    if (!isTyping) {
      this.typing.delete(socketId);
      if (current) this.emit(current.user, current.rooms, false);
      return;
    }
    const rooms = current?.rooms ?? [...socketRooms].filter((room) => room.startsWith(ROOM_PREFIX.room));
    const timer = setTimeout(() => this.set(socketId, rooms, user, false), this.options.chat.typingTimeoutMs);
    timer.unref();
    this.typing.set(socketId, { timer, user, rooms });
    if (!current) this.emit(user, rooms, true);
  }

  /** The socket left: a pending indicator ends now. */
  socketGone(socketId: string): void {
    if (this.typing.has(socketId)) this.set(socketId, [], this.typing.get(socketId)!.user, false);
  }

  beforeApplicationShutdown(): void {
    for (const { timer } of this.typing.values()) clearTimeout(timer);
    this.typing.clear();
  }

  private emit(user: RealtimeIdentity, rooms: string[], isTyping: boolean): void {
    if (rooms.length === 0) return;
    const payload: UserTypingPayload = { userId: user.userId, username: user.username, isTyping };
    this.serverRef
      .get()
      ?.to(rooms)
      .except(ROOM_PREFIX.user + user.userId)
      .emit('userTyping', payload);
  }
}
