// Chat rules on top of the shared conversation layer: which room a message goes to, and
// delivery of every stored room message to the room's Socket.IO sockets (whatever transport sent it).
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { Subscription } from 'rxjs';
import type { Server } from 'socket.io';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeError } from '../core/errors/realtime-error';
import { SocketIoServerRef } from '../core/transport/socket-io-server.ref';
import { ConversationBus } from '../conversations/conversation-bus';
import { MessagesService } from '../conversations/messages.service';
import { RoomDirectory } from '../conversations/room-directory.service';
import { ROOM_PREFIX, REALTIME_OPTIONS } from '../realtime.constants';
import { ROOM_NAME } from '../protocol';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { toChatMessage } from './chat.frames';
import type { ChatMessageDto } from './dto/chat-message.dto';

/** Users' memberships recorded by this node's chat, remembered so that a message repeats no join. */
const RECORDED_JOINS_MAX = 50_000;

/** The Socket.IO room of a chat room. */
export function chatRoom(name: string): string {
  return ROOM_PREFIX.room + name;
}

@Injectable()
export class ChatService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription: Subscription | null = null;
  /** Chat rooms whose last local socket left, and when (connection state recovery may still want them). */
  private readonly emptiedAt = new Map<string, number>();
  private watched: Server | null = null;
  /**
   * `${userId}\u0000${room}` of the joins this node recorded (rooms are never renamed or deleted).
   * A message to one of them skips the join, its `canJoin` and its membership write; posting still
   * checks the private-room rule and asks `canPost`.
   */
  private readonly recordedJoins = new LRUCache<string, true>({ max: RECORDED_JOINS_MAX });

  constructor(
    private readonly messages: MessagesService,
    private readonly rooms: RoomDirectory,
    private readonly bus: ConversationBus,
    private readonly serverRef: SocketIoServerRef,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  get lobbyRoom(): string {
    return this.options.chat.lobbyRoom;
  }

  onApplicationBootstrap(): void {
    const server = this.serverRef.get();
    if (server !== null) this.watch(server);
    // Messages stored on this node only: with Redis, Socket.IO's adapter carries the emission to
    // the sockets of every node. One emission per message; Socket.IO encodes the packet once.
    this.subscription = this.bus.localEvents$.subscribe((event) => {
      if (event.kind !== 'room') return;
      const server = this.serverRef.get();
      const room = chatRoom(event.room);
      if (server === null || !this.mayReach(server, room)) return;
      server.to(room).emit('message', toChatMessage(event.message));
    });
  }

  /**
   * Whether an emission to a chat room can reach a socket: one of this node's sockets is in it, a
   * socket left it within the recovery window (a recovering session replays it), or with Redis a
   * socket of another node may be in it. Otherwise a message from the raw ws transport to a room
   * no Socket.IO client is in costs no packet.
   */
  private mayReach(server: Server, room: string): boolean {
    if (this.options.redis !== null) return true;
    const adapter = server.of('/').adapter;
    if (this.watched !== server) this.watch(server);
    if (adapter.rooms.has(room)) return true;
    const emptiedAt = this.emptiedAt.get(room);
    if (emptiedAt === undefined) return false;
    if (Date.now() - emptiedAt <= this.options.chat.recoveryWindowMs) return true;
    this.emptiedAt.delete(room);
    return false;
  }

  private watch(server: Server): void {
    this.watched = server;
    const adapter = server.of('/').adapter;
    adapter.on('delete-room', (room: string) => {
      if (room.startsWith(ROOM_PREFIX.room)) this.emptiedAt.set(room, Date.now());
    });
    adapter.on('create-room', (room: string) => this.emptiedAt.delete(room));
  }

  beforeApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }

  /**
   * The room a message goes to (`context.roomId`, else the lobby), after joining the user to it (a
   * missing room comes into being when auto-creation allows, as on the rooms endpoint). The caller
   * joins the socket to it before posting, so the sender sees its message.
   * The join is made once per user and room on this node (its membership is then recorded, and
   * posting checks access again), not for every message; a socket already in a room other than the
   * lobby (`socketRooms`) joined it too. (Sockets enter the lobby at connection, without a join.)
   */
  async roomFor(
    user: RealtimeIdentity,
    dto: ChatMessageDto,
    socketRooms: ReadonlySet<string> = new Set(),
  ): Promise<string> {
    const roomId = dto.context?.roomId;
    if (roomId !== undefined && (typeof roomId !== 'string' || !ROOM_NAME.test(roomId))) {
      throw RealtimeError.invalidFormat('context.roomId must be 1-64 letters, digits, _ . or -', {
        field: 'context.roomId',
      });
    }
    const room = roomId ?? this.lobbyRoom;
    if (room !== this.lobbyRoom && socketRooms.has(chatRoom(room))) return room;
    if (!this.recordedJoins.has(joinKey(user, room))) await this.join(user, room);
    return room;
  }

  /** Stores the message (after validation and rate limits); delivery follows through the bus. */
  async post(user: RealtimeIdentity, room: string, dto: ChatMessageDto): Promise<{ id: string }> {
    const stored = await this.messages.postToRoom(user, room, {
      content: dto.message,
      replyTo: this.replyTarget(dto.context?.replyTo),
      context: dto.context,
    });
    return { id: String(stored.id) };
  }

  /** An explicit `join`: checks access (and the room policy), creating the room on first use when allowed. */
  async join(user: RealtimeIdentity, room: string): Promise<void> {
    await this.rooms.join(user, room);
    this.recordedJoins.set(joinKey(user, room), true);
  }

  private replyTarget(value: unknown): number | undefined {
    if (value === undefined) return undefined;
    const id =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && /^\d+$/.test(value)
          ? Number(value)
          : NaN;
    if (!Number.isSafeInteger(id) || id < 1) {
      throw RealtimeError.invalidFormat('context.replyTo must be a message id', { field: 'context.replyTo' });
    }
    return id;
  }
}

function joinKey(user: RealtimeIdentity, room: string): string {
  return `${user.userId}\u0000${room}`;
}
