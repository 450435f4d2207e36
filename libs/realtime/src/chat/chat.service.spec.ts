// ChatService.roomFor: the room a chat message goes to, and the join it makes once per user and room
// on this node (one policy check, one membership write), not once per message.
import { Logger } from '@nestjs/common';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { SocketIoServerRef } from '../core/transport/socket-io-server.ref';
import { ConversationBus } from '../conversations/conversation-bus';
import type { MessagesService } from '../conversations/messages.service';
import { RealtimeRateLimiter } from '../conversations/realtime-rate-limiter.service';
import { RoomDirectory } from '../conversations/room-directory.service';
import type { RoomPolicy } from '../conversations/room-policy';
import { resolveRealtimeOptions } from '../realtime.options';
import { InMemoryRoomStore } from '../storage/memory/in-memory-storage';
import { ChatService, chatRoom } from './chat.service';
import type { ChatMessageDto } from './dto/chat-message.dto';

const SECRET = 'chat-service-spec-secret-0123456789';

function identity(userId: string): RealtimeIdentity {
  return {
    userId,
    username: `u${userId}`,
    roles: [],
    isAdmin: false,
    appId: null,
    page: null,
    expiresAt: null,
  };
}

function message(roomId?: string): ChatMessageDto {
  return { message: 'hello', context: roomId === undefined ? undefined : { roomId } };
}

/** A ChatService over a real RoomDirectory, with its policy's join checks and the store's membership writes counted. */
function setUp(canJoin: (user: RealtimeIdentity) => boolean = () => true) {
  const options = resolveRealtimeOptions({
    auth: { secret: SECRET },
    rooms: { initial: [{ name: 'general' }] },
  });
  const store = new InMemoryRoomStore();
  const joinChecks: string[] = [];
  const policy: RoomPolicy = {
    canJoin: (user, room) => {
      joinChecks.push(`${user.userId}:${room.name}`);
      return canJoin(user);
    },
    canPost: () => true,
    canRead: () => true,
  };
  const rooms = new RoomDirectory(store, options, new RealtimeRateLimiter(options), policy);
  const memberships = jest.spyOn(store, 'addMember');
  // roomFor uses the directory only: the message store is not reached.
  const chat = new ChatService(
    {} as MessagesService,
    rooms,
    new ConversationBus(null),
    new SocketIoServerRef(),
    options,
  );
  return { chat, rooms, joinChecks, memberships };
}

beforeAll(() => {
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
});
afterAll(() => {
  jest.restoreAllMocks();
});

describe('ChatService.roomFor', () => {
  it('joins a user to a room once for two messages (one join check, one membership write), from any socket', async () => {
    const { chat, joinChecks, memberships } = setUp();
    const user = identity('1');

    // Two tabs: neither socket is in the room yet when its message comes.
    expect(await chat.roomFor(user, message('team'))).toBe('team');
    expect(await chat.roomFor(user, message('team'))).toBe('team');

    expect(joinChecks).toEqual(['1:team']);
    expect(memberships).toHaveBeenCalledTimes(1);
    // Another user's first message is its own join.
    await chat.roomFor(identity('2'), message('team'));
    expect(joinChecks).toEqual(['1:team', '2:team']);
    expect(memberships).toHaveBeenCalledTimes(2);
  });

  it('joins the lobby once for two messages without a room', async () => {
    const { chat, joinChecks, memberships } = setUp();
    const lobby = new Set([chatRoom('general')]);

    expect(await chat.roomFor(identity('1'), message(), lobby)).toBe('general');
    expect(await chat.roomFor(identity('1'), message(), lobby)).toBe('general');

    expect(joinChecks).toEqual(['1:general']);
    expect(memberships).toHaveBeenCalledTimes(1);
  });

  it('skips the join after an explicit join, and asks again after a refusal', async () => {
    let admitted = false;
    const { chat, rooms, joinChecks, memberships } = setUp(() => admitted);
    const user = identity('1');
    await rooms.findOrCreate('later');

    await expect(chat.roomFor(user, message('later'))).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    admitted = true;
    await chat.join(user, 'later');
    await chat.roomFor(user, message('later'));

    expect(joinChecks).toEqual(['1:later', '1:later']);
    expect(memberships).toHaveBeenCalledTimes(1);
  });
});
