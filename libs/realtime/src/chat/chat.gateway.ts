// The chat over Socket.IO: `message` and `typing` in; `message`, `userTyping`, `userStatus`, `error`
// out. Additions: `join` / `leave` a room explicitly, `onlineUsers` (ack). Every socket is in the
// lobby room; sending a message with `context.roomId` also joins that room.
import { UseFilters, UsePipes } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import type { ChatJoinAck, OnlineUsersPayload } from '../protocol';
import { ConnectedUser } from '../core/auth/connected-user.decorator';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeError } from '../core/errors/realtime-error';
import { RealtimeIoExceptionFilter } from '../core/filters/realtime-io-exception.filter';
import { RealtimeGateway } from '../core/transport/realtime-gateway.decorator';
import { ChatService, chatRoom } from './chat.service';
import { ChatValidationPipe } from './chat-validation.pipe';
import { ChatJoinDto } from './dto/chat-join.dto';
import { ChatMessageDto } from './dto/chat-message.dto';
import { PresenceService } from './presence.service';
import { TypingService } from './typing.service';

@RealtimeGateway({ transport: 'socket.io' })
@UseFilters(RealtimeIoExceptionFilter)
@UsePipes(new ChatValidationPipe())
export class ChatGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(
    private readonly chat: ChatService,
    private readonly typing: TypingService,
    private readonly presence: PresenceService,
  ) {}

  async handleConnection(socket: Socket): Promise<void> {
    await socket.join(chatRoom(this.chat.lobbyRoom));
  }

  handleDisconnect(socket: Socket): void {
    this.typing.socketGone(socket.id);
  }

  /** Ack: `{ id }` once stored, or `{ error }` (sent by the filter, with an `error` event). */
  @SubscribeMessage('message')
  async message(
    @ConnectedUser() user: RealtimeIdentity,
    @ConnectedSocket() socket: Socket,
    @MessageBody() body: ChatMessageDto,
  ): Promise<{ id: string }> {
    const room = await this.chat.roomFor(user, body, socket.rooms);
    await socket.join(chatRoom(room));
    return this.chat.post(user, room, body);
  }

  @SubscribeMessage('typing')
  setTyping(
    @ConnectedUser() user: RealtimeIdentity,
    @ConnectedSocket() socket: Socket,
    @MessageBody() isTyping: unknown,
  ): void {
    if (typeof isTyping !== 'boolean') {
      throw RealtimeError.invalidFormat('typing takes true or false', { field: 'typing' });
    }
    this.typing.set(socket.id, socket.rooms, user, isTyping);
  }

  @SubscribeMessage('join')
  async join(
    @ConnectedUser() user: RealtimeIdentity,
    @ConnectedSocket() socket: Socket,
    @MessageBody() body: ChatJoinDto,
  ): Promise<ChatJoinAck> {
    await this.chat.join(user, body.roomId);
    await socket.join(chatRoom(body.roomId));
    return { roomId: body.roomId, joined: true };
  }

  @SubscribeMessage('leave')
  async leave(@ConnectedSocket() socket: Socket, @MessageBody() body: ChatJoinDto): Promise<ChatJoinAck> {
    await socket.leave(chatRoom(body.roomId));
    return { roomId: body.roomId, joined: false };
  }

  @SubscribeMessage('onlineUsers')
  onlineUsers(): Promise<OnlineUsersPayload> {
    return this.presence.onlineUsers();
  }
}
