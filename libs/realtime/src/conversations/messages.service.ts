// The one set of message rules for every transport: validation (types, media, length, reply
// target), per-user rate limits, persistence before anything is delivered, history paging. Storage
// is the MessageStore's (no SQL here).
import { Inject, Injectable } from '@nestjs/common';
import { RealtimeErrorCode } from '../protocol';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeError } from '../core/errors/realtime-error';
import { StorageFaultLog } from '../core/filters/storage-fault-log';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import {
  InjectMessageStore,
  type ConversationRef,
  type MessageRecord,
  type MessageStore,
} from '../storage/realtime-storage.interface';
import { InjectUserDirectory, type UserDirectory } from '../storage/user-directory.interface';
import { ConversationBus } from './conversation-bus';
import {
  MESSAGE_KINDS,
  type HistoryPage,
  type HistoryQuery,
  type MessageFields,
  type MessageKind,
  type MessageOrigin,
  type NewMessage,
  type StoredMessage,
} from './conversation.types';
import { MessageRateLimiter } from './rate-limiter.service';
import { RoomDirectory } from './room-directory.service';

const MAX_REACTION_LENGTH = 32;
const MAX_CONTEXT_BYTES = 4096;
const MAX_AUDIO_SECONDS = 3600;

export function dmKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function toStored(row: MessageFields, id: number, room: string | null): StoredMessage {
  return {
    id,
    room,
    senderId: row.senderId,
    senderUsername: row.senderUsername,
    recipientId: row.recipientId,
    content: row.content,
    messageType: row.messageType,
    mediaUrl: row.mediaUrl,
    mediaType: row.mediaType,
    duration: row.duration,
    replyTo: row.replyTo,
    context: row.context,
    createdAt: row.createdAt,
  };
}

function newMessageRecord(
  sender: RealtimeIdentity,
  input: NewMessage,
  kind: MessageKind,
  target: { roomId: number | null; dmKey: string | null; recipientId: string | null },
): MessageRecord {
  // A literal of one fixed shape: the record is only read (insert values, the stored message).
  return {
    roomId: target.roomId,
    dmKey: target.dmKey,
    senderId: sender.userId,
    senderUsername: sender.username,
    recipientId: target.recipientId,
    content: input.content,
    messageType: kind,
    mediaUrl: input.mediaUrl ?? null,
    mediaType: input.mediaType ?? null,
    duration: input.duration ?? null,
    replyTo: input.replyTo ?? null,
    context: input.context ?? null,
    createdAt: Date.now(),
  };
}

function invalid(field: string, message: string): RealtimeError {
  return RealtimeError.invalidFormat(message, { field });
}

/** Where a relative media path is resolved, to check that it stays on the page's own host. */
const SAME_ORIGIN = 'https://same-origin.invalid';

/**
 * A path on the page's own host ("/uploads/a.jpg") or an https URL. The path is resolved as a
 * browser resolves it: "//evil.example/x" and "/\evil.example/x" name another host and are refused.
 */
function isAllowedMediaUrl(value: string): boolean {
  if (value.length > 2048 || /\s/.test(value)) return false;
  try {
    if (value.startsWith('/')) return new URL(value, SAME_ORIGIN).origin === SAME_ORIGIN;
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

@Injectable()
export class MessagesService {
  constructor(
    @InjectMessageStore() private readonly messages: MessageStore,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    @InjectUserDirectory() private readonly users: UserDirectory,
    private readonly rooms: RoomDirectory,
    private readonly limiter: MessageRateLimiter,
    private readonly bus: ConversationBus,
    private readonly storageFaults: StorageFaultLog,
  ) {}

  /**
   * Validates, rate-limits, stores, then publishes a room message. A missing room comes into being
   * when auto-creation, the room policy and the user's creation limit allow (see
   * RoomDirectory.findOrCreateFor); private rooms: members only; the host's RoomPolicy is asked
   * (canPost) for every message. `origin`: the posting connection and its
   * request id, when it gave one (its own copy then carries the id).
   */
  async postToRoom(
    sender: RealtimeIdentity,
    roomName: string,
    input: NewMessage,
    origin?: MessageOrigin,
  ): Promise<StoredMessage> {
    const room = await this.rooms.findOrCreateFor('post', sender, roomName);
    const kind = this.validate(input);
    if (input.replyTo !== undefined) await this.assertReplyTarget(input.replyTo, { roomId: room.id });
    await this.limiter.consume(sender.userId);
    const record = newMessageRecord(sender, input, kind, { roomId: room.id, dmKey: null, recipientId: null });
    const message = toStored(record, await this.store(record), room.name);
    // Without an origin, the event has the same shape (and relayed form) as before request ids.
    this.bus.publish(
      origin === undefined
        ? { kind: 'room', room: room.name, message }
        : { kind: 'room', room: room.name, message, origin },
    );
    return message;
  }

  /**
   * Validates, rate-limits, stores, then publishes a direct message. USER_NOT_FOUND for an unknown
   * recipient. `origin` as for postToRoom.
   */
  async postDirect(
    sender: RealtimeIdentity,
    recipientId: string,
    input: NewMessage,
    origin?: MessageOrigin,
  ): Promise<StoredMessage> {
    const recipient = await this.users.findById(recipientId);
    if (!recipient)
      throw new RealtimeError(RealtimeErrorCode.USER_NOT_FOUND, 'User not found', { user_id: recipientId });
    const key = dmKey(sender.userId, recipientId);
    const kind = this.validate(input);
    if (input.replyTo !== undefined) await this.assertReplyTarget(input.replyTo, { dmKey: key });
    await this.limiter.consume(sender.userId);
    const record = newMessageRecord(sender, input, kind, { roomId: null, dmKey: key, recipientId });
    const message = toStored(record, await this.store(record), null);
    this.bus.publish(
      origin === undefined ? { kind: 'direct', message } : { kind: 'direct', message, origin },
    );
    return message;
  }

  /** A page of a room's history; ROOM_NOT_FOUND for a missing room (reading creates nothing). */
  async roomHistory(reader: RealtimeIdentity, roomName: string, query: HistoryQuery): Promise<HistoryPage> {
    const room = await this.rooms.requireSummary(roomName);
    await this.rooms.authorize('read', reader, room);
    return this.page({ roomId: room.id }, query, room.name);
  }

  async dmHistory(reader: RealtimeIdentity, otherUserId: string, query: HistoryQuery): Promise<HistoryPage> {
    if (!(await this.users.findById(otherUserId))) {
      throw new RealtimeError(RealtimeErrorCode.USER_NOT_FOUND, 'User not found', { user_id: otherUserId });
    }
    return this.page({ dmKey: dmKey(reader.userId, otherUserId) }, query, null);
  }

  /** Checks a history query's numbers against the limits (INVALID_FORMAT naming the field). */
  checkHistoryQuery(query: HistoryQuery): void {
    const max = this.options.limits.maxHistoryLimit;
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > max) {
      throw RealtimeError.invalidFormat(`limit must be an integer from 1 to ${max}`, { field: 'limit', max });
    }
    if (!Number.isInteger(query.offset) || query.offset < 0) {
      throw invalid('offset', 'offset must be a non-negative integer');
    }
    if (query.afterId !== undefined && (!Number.isInteger(query.afterId) || query.afterId < 0)) {
      throw invalid('after_id', 'after_id must be a non-negative integer');
    }
  }

  private async page(
    conversation: ConversationRef,
    query: HistoryQuery,
    room: string | null,
  ): Promise<HistoryPage> {
    this.checkHistoryQuery(query);
    if (query.afterId !== undefined) {
      // Catch-up: the messages committed after after_id's, in commit order, one more to know whether
      // more follow. Gap-free with concurrent writers: the store orders a conversation by commit, not
      // by id (MessageStore.after), so the last id of a page is the cursor of the next.
      const [rows, total] = await Promise.all([
        this.messages.after(conversation, query.afterId, query.limit + 1),
        this.messages.count(conversation),
      ]);
      const hasMore = rows.length > query.limit;
      return {
        messages: rows.slice(0, query.limit).map((row) => toStored(row, row.id, room)),
        total,
        hasMore,
      };
    }
    const [rows, total] = await Promise.all([
      this.messages.newest(conversation, query.offset, query.limit),
      this.messages.count(conversation),
    ]);
    return {
      messages: rows.map((row) => toStored(row, row.id, room)),
      total,
      hasMore: query.offset + rows.length < total,
    };
  }

  /**
   * Stores a message, returning its id. A stored message is what ends a database outage in the log
   * (its refusals are counted by the transports' exception filters).
   */
  private async store(record: MessageRecord): Promise<number> {
    const id = await this.messages.insert(record);
    this.storageFaults.worked();
    return id;
  }

  /** Semantic checks of a message (types come checked from the DTO); returns its kind. */
  private validate(input: NewMessage): MessageKind {
    const kind = input.messageType ?? 'text';
    if (!(MESSAGE_KINDS as readonly string[]).includes(kind)) {
      throw invalid('message_type', `message_type must be one of ${MESSAGE_KINDS.join(', ')}`);
    }
    if (typeof input.content !== 'string') throw invalid('content', 'content must be a string');
    const max = this.options.limits.maxMessageLength;
    if (input.content.length > max) {
      throw new RealtimeError(RealtimeErrorCode.MESSAGE_TOO_LONG, `Message longer than ${max} characters`, {
        max_length: max,
        length: input.content.length,
      });
    }
    switch (kind) {
      case 'text':
        if (input.content.trim() === '') throw invalid('content', 'content must not be empty');
        break;
      case 'image':
        this.checkMediaUrl(input.mediaUrl);
        if (typeof input.mediaType !== 'string' || !/^image\/[A-Za-z0-9.+-]+$/.test(input.mediaType)) {
          throw invalid('media_type', 'media_type must be an image/* type');
        }
        break;
      case 'audio':
        this.checkMediaUrl(input.mediaUrl);
        if (
          typeof input.duration !== 'number' ||
          !(input.duration > 0) ||
          input.duration > MAX_AUDIO_SECONDS
        ) {
          throw invalid(
            'duration',
            `duration must be a number of seconds above 0 and at most ${MAX_AUDIO_SECONDS}`,
          );
        }
        break;
      case 'reaction':
        if (input.replyTo === undefined) throw invalid('reply_to', 'a reaction needs reply_to');
        if (input.content.trim() === '' || input.content.length > MAX_REACTION_LENGTH) {
          throw invalid('content', `a reaction is 1-${MAX_REACTION_LENGTH} characters`);
        }
        break;
    }
    if (input.replyTo !== undefined && (!Number.isInteger(input.replyTo) || input.replyTo < 1)) {
      throw invalid('reply_to', 'reply_to must be a message id');
    }
    if (input.context !== undefined && Buffer.byteLength(JSON.stringify(input.context)) > MAX_CONTEXT_BYTES) {
      throw invalid('context', `context must serialise to at most ${MAX_CONTEXT_BYTES} bytes`);
    }
    return kind;
  }

  private checkMediaUrl(url: string | undefined): void {
    if (typeof url !== 'string' || !isAllowedMediaUrl(url)) {
      throw invalid('media_url', 'media_url must be a relative path or an https URL');
    }
  }

  private async assertReplyTarget(id: number, conversation: ConversationRef): Promise<void> {
    if (!(await this.messages.exists(id, conversation))) {
      throw RealtimeError.invalidFormat('reply_to names no message of this conversation', {
        field: 'reply_to',
        reply_to: id,
      });
    }
  }
}
