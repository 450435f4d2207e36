// Rooms client: rooms and direct messages over the raw WebSocket endpoint, with the connection
// lifecycle. After a reconnection it rejoins its rooms, asks which direct conversations have new
// messages (peers it never talked to included), fetches what it missed by `after_id`, and delivers
// every message once, in id order. Every request carries a request id (ref) that the server echoes on
// its answer; against a server that echoes none, answers are recognised by their content. The token is
// refreshed on the open connection with `auth_refresh`.
import {
  AUTH_REFRESH_REFUSED,
  decodeEnvelope,
  isRequestRef,
  RealtimeErrorCode,
  type DirectMessagePayload,
  type DmConversationListData,
  type DmConversationsData,
  type DmConversationSummary,
  type Envelope,
  type HistoryMessage,
  type JoinRoomAckData,
  type LeaveRoomAckData,
  type MessageBodyFields,
  type MessageHistoryData,
  type PresenceData,
  type RealtimeErrorPayload,
  type RoomHistoryData,
  type DmHistoryData,
  type RoomMessagePayload,
  type RoomsClientFrames,
  type RoomsServerFrames,
  type WireUserId,
} from 'nest-realtime/protocol';
import { ConnectionLifecycle } from '../connection/connection-lifecycle';
import {
  resolveConnectionOptions,
  toWebSocketUrl,
  type ConnectionOptions,
} from '../connection/connection.options';
import type { HeartbeatOptions } from '../connection/heartbeat';
import { ManagedClient } from '../connection/managed-client';
import { PendingRequests } from '../connection/pending-requests';
import { ClientErrorCode, isShutdownRefusal, RealtimeClientError } from '../connection/realtime-client.error';
import type { QueuedSend } from '../connection/send-queue';
import { retryAfterOf } from '../connection/retry-after';
import { readTokenClaim } from '../connection/token-claims';
import { TypedEmitter } from '../connection/typed-emitter';
import { WebSocketTransport, type InboundSignal, type WireProtocol } from '../connection/websocket-transport';
import { resolveWebSocket } from '../websocket/resolve-websocket';
import type { WebSocketConstructor } from '../websocket/websocket.types';
import { ConversationTracker } from './conversation-tracker';

export interface RoomsClientOptions extends ConnectionOptions {
  /** Path of the rooms endpoint. @default '/ws/chat' */
  path?: string;
  /** WebSocket class. @default globalThis.WebSocket, else the `ws` package (Node) */
  webSocket?: WebSocketConstructor;
  /** Application ping/pong; `false` turns it off. @default { intervalMs: 30000, timeoutMs: 10000 } */
  heartbeat?: Partial<HeartbeatOptions> | false;
  /** Own user id, to tell the peer of a direct conversation. @default the token's `userIdClaim` */
  userId?: WireUserId;
  /** Claim holding the user id. @default 'sub' */
  userIdClaim?: string;
  /** Direct conversations caught up after a reconnection besides those seen on this client. */
  directPeers?: WireUserId[];
  /** Page size of the catch-up history requests (at most the server's limits.maxHistoryLimit). @default 50 */
  catchUpPageSize?: number;
}

/** Events a RoomsClient emits; the payloads are the frame data. */
export interface RoomsClientEvents {
  room_message: RoomMessagePayload;
  direct_message: DirectMessagePayload;
  user_connected: PresenceData;
  user_disconnected: PresenceData;
  /** An error frame that answers no request of this client. */
  error: RealtimeErrorPayload;
}

/** What a synchronisation did. */
export interface RoomsSyncReport {
  /** Rooms rejoined. */
  rooms: string[];
  /** Rooms that could not be rejoined (e.g. deleted, or membership withdrawn), with the server's code. */
  failedRooms: Array<{ room: string; code: string }>;
  /** Messages delivered from history, that is, missed while disconnected. */
  roomMessages: number;
  directMessages: number;
  /** Direct conversations caught up that this client did not know: peers who wrote while it was away. */
  discoveredPeers: WireUserId[];
}

type MessageFields = Omit<MessageBodyFields, 'content'>;

const roomKey = (room: string) => `room:${room}`;
const dmKey = (peer: WireUserId) => `dm:${String(peer)}`;
const DM_PREFIX = 'dm:';

/** The rooms wire protocol as the transport sees it. */
class RoomsWireProtocol implements WireProtocol<Envelope> {
  readonly authenticatedByPong = true;
  /**
   * The server of the current connection echoed a ref. Such a server echoes the ref of every request
   * of this client, so a frame without one answers none of them: it is, for instance, the copy of a
   * message another tab of the same user sent with the same text.
   */
  echoesRefs = false;

  constructor(
    private readonly endpoint: string,
    private readonly nextRef: () => string,
  ) {}

  url(token: string | undefined): string {
    return token === undefined ? this.endpoint : `${this.endpoint}?token=${encodeURIComponent(token)}`;
  }
  /** The opening ping carries a ref, so its pong tells at once whether this server echoes refs. */
  openingFrame(): string {
    this.echoesRefs = false;
    return encodeClientFrame('ping', {}, this.nextRef());
  }
  pingFrame(): string {
    return encodeClientFrame('ping', {});
  }
  interpret(text: string): InboundSignal<Envelope> {
    const decoded = decodeEnvelope(text);
    if (!decoded.ok) return { kind: 'ignored' };
    const frame: Envelope = { type: decoded.type, data: decoded.data };
    if (decoded.ref !== undefined) {
      frame.ref = decoded.ref;
      this.echoesRefs = true;
    }
    if (frame.type === 'pong') return { kind: 'pong' };
    if (frame.type === 'error') {
      const error = frame.data as RealtimeErrorPayload;
      // A refused refresh answers its request; the session goes on with its token.
      if (error.code === RealtimeErrorCode.AUTH_FAILED && error.details?.reason !== AUTH_REFRESH_REFUSED)
        return { kind: 'auth_failed', message: error.message };
      return { kind: 'frame', frame, error: { retryAfterMs: retryAfterOf(error) } };
    }
    return { kind: 'frame', frame };
  }
}

function encodeClientFrame<K extends keyof RoomsClientFrames>(
  type: K,
  data: RoomsClientFrames[K],
  ref?: string,
): string {
  return JSON.stringify(ref === undefined ? { type, data } : { type, data, ref });
}

function isFrame<K extends keyof RoomsServerFrames>(
  frame: Envelope,
  type: K,
): frame is Envelope<RoomsServerFrames[K]> & { type: K } {
  return frame.type === type;
}

export class RoomsClient extends ManagedClient<RoomsSyncReport> {
  protected readonly lifecycle: ConnectionLifecycle<RoomsSyncReport>;
  private readonly transport: WebSocketTransport<Envelope>;
  private readonly protocol: RoomsWireProtocol;
  private readonly events = new TypedEmitter<RoomsClientEvents>();
  private readonly pending: PendingRequests<Envelope>;
  private readonly tracker = new ConversationTracker();
  private readonly rooms = new Set<string>();
  private readonly directPeers: WireUserId[];
  private readonly pageSize: number;
  private readonly userIdOption: string | undefined;
  private readonly userIdClaim: string;
  /** Live messages received while synchronising, delivered after the catch-up. */
  private syncBuffer: Envelope[] | undefined;
  /** Last request id sent: a counter keeps refs unique on every connection of this client. */
  private lastRef = 0;

  constructor(options: RoomsClientOptions) {
    super();
    const resolved = resolveConnectionOptions(options);
    const endpoint = `${toWebSocketUrl(resolved.url)}${options.path ?? '/ws/chat'}`;
    const heartbeat =
      options.heartbeat === false ? false : { intervalMs: 30000, timeoutMs: 10000, ...options.heartbeat };
    this.pending = new PendingRequests(resolved.requestTimeoutMs);
    this.directPeers = options.directPeers ?? [];
    this.pageSize = options.catchUpPageSize ?? 50;
    this.userIdOption = options.userId === undefined ? undefined : String(options.userId);
    this.userIdClaim = options.userIdClaim ?? 'sub';
    this.protocol = new RoomsWireProtocol(endpoint, () => this.nextRef());
    this.transport = new WebSocketTransport(
      resolveWebSocket(options.webSocket),
      this.protocol,
      heartbeat,
      (frame) => this.receive(frame),
    );
    this.lifecycle = new ConnectionLifecycle(this.transport, resolved, {
      synchronize: (resync) => this.synchronize(resync),
      connectionLost: (error) => {
        this.syncBuffer = undefined;
        this.pending.rejectAll(error);
      },
      refreshSession: async (token) => {
        await this.sendNow('auth_refresh', { token }, (f) => isFrame(f, 'auth_refresh_ack'));
      },
    });
    this.transport.attach(this.lifecycle);
  }

  /** Rooms this client is in (rejoined after every reconnection). */
  get joinedRooms(): string[] {
    return [...this.rooms];
  }

  /** The user id of this client's token (or the `userId` option). */
  get userId(): string | undefined {
    if (this.userIdOption !== undefined) return this.userIdOption;
    const token = this.lifecycle.currentToken;
    return token === undefined ? undefined : readTokenClaim(token, this.userIdClaim);
  }

  on<K extends keyof RoomsClientEvents>(
    event: K,
    listener: (payload: RoomsClientEvents[K]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  off<K extends keyof RoomsClientEvents>(event: K, listener: (payload: RoomsClientEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /** Joins a room (kept across reconnections); resolves with the server's acknowledgement. */
  async joinRoom(room: string): Promise<JoinRoomAckData> {
    const ack = await this.request(
      'join_room',
      { room },
      (f) => isFrame(f, 'join_room_ack') && f.data.room === room,
    );
    this.rooms.add(room);
    if (this.tracker.lastId(roomKey(room)) === undefined) {
      // The newest message at join time is the catch-up watermark for a later reconnection.
      const latest = await this.request('room_history', { room, limit: 1 }, (f) =>
        answersRoomHistory(f, room),
      );
      const newest = (latest.data as MessageHistoryData).messages.at(-1);
      this.tracker.advance(roomKey(room), newest?.id ?? 0);
    }
    return ack.data as JoinRoomAckData;
  }

  async leaveRoom(room: string): Promise<LeaveRoomAckData> {
    const ack = await this.request(
      'leave_room',
      { room },
      (f) => isFrame(f, 'leave_room_ack') && f.data.room === room,
    );
    this.rooms.delete(room);
    this.tracker.forget(roomKey(room));
    return ack.data as LeaveRoomAckData;
  }

  /**
   * Sends a room message; resolves with it as stored (with its id): the copy the server sends back to
   * this connection.
   */
  async sendRoomMessage(
    room: string,
    content: string,
    fields: MessageFields = {},
  ): Promise<RoomMessagePayload> {
    const echo = await this.request(
      'room_message',
      { room, content, message_type: 'text', ...fields },
      (f) =>
        isFrame(f, 'room_message') &&
        f.data.room === room &&
        f.data.content === content &&
        this.isMine(f.data.user_id),
    );
    return echo.data as RoomMessagePayload;
  }

  /** Sends a direct message; resolves with it as stored when the server echoes it to the sender. */
  async sendDirectMessage(
    toUserId: WireUserId,
    content: string,
    fields: MessageFields = {},
  ): Promise<DirectMessagePayload> {
    const echo = await this.request(
      'direct_message',
      { to_user_id: toUserId, content, message_type: 'text', ...fields },
      (f) =>
        isFrame(f, 'direct_message') &&
        String(f.data.to_user_id) === String(toUserId) &&
        f.data.content === content &&
        this.isMine(f.data.from_user_id),
    );
    return echo.data as DirectMessagePayload;
  }

  async roomHistory(query: RoomHistoryData): Promise<MessageHistoryData> {
    const answer = await this.request('room_history', query, (f) => answersRoomHistory(f, query.room));
    return answer.data as MessageHistoryData;
  }

  async dmHistory(query: DmHistoryData): Promise<MessageHistoryData> {
    const answer = await this.request('dm_history', query, (f) => answersDmHistory(f, query.with_user));
    return answer.data as MessageHistoryData;
  }

  /**
   * The direct conversations of this user that have a message with id above `afterId` (all of them
   * when absent), newest first, with the newest message id of each. When `has_more`, ask again with
   * `beforeId` = the last `last_id` received.
   */
  async dmConversations(afterId?: number, beforeId?: number): Promise<DmConversationListData> {
    const answer = await this.request('dm_conversations', conversationsQuery(afterId, beforeId), (f) =>
      isFrame(f, 'dm_conversations'),
    );
    return answer.data as DmConversationListData;
  }

  // ---- internals ----

  /**
   * Sends a request when ACTIVE (queued while reconnecting) and resolves with its answer. A request
   * the server refused as it shuts down (nothing done) is sent again once reconnected.
   */
  private request<K extends keyof RoomsClientFrames>(
    type: K,
    data: RoomsClientFrames[K],
    answers: (frame: Envelope) => boolean,
  ): Promise<Envelope> {
    return new Promise<Envelope>((resolve, reject) => {
      const item: QueuedSend = {
        run: () =>
          void this.sendNow(type, data, answers).then(resolve, (error: Error) => {
            if (isShutdownRefusal(error)) this.lifecycle.requeue(item);
            else reject(error);
          }),
        fail: reject,
      };
      this.lifecycle.submit(item);
    });
  }

  /** Sends at once (synchronisation, or a flushed queue) and awaits the answer. */
  private sendNow<K extends keyof RoomsClientFrames>(
    type: K,
    data: RoomsClientFrames[K],
    answers: (frame: Envelope) => boolean,
  ): Promise<Envelope> {
    if (!this.transport.isOpen) {
      return Promise.reject(
        new RealtimeClientError(ClientErrorCode.CONNECTION_LOST, `Connection lost before ${type}`),
      );
    }
    const ref = this.nextRef();
    const answer = this.pending.add(type, answers, ref);
    this.transport.send(encodeClientFrame(type, data, ref));
    return answer;
  }

  private nextRef(): string {
    this.lastRef += 1;
    return String(this.lastRef);
  }

  private receive(frame: Envelope): void {
    if (isFrame(frame, 'message_batch')) {
      for (const inner of frame.data.messages) {
        // Inner frames were not decoded one by one: keep only a well-formed ref.
        const ref = isRequestRef(inner.ref) ? { ref: inner.ref } : {};
        this.receive({ type: inner.type, data: inner.data, ...ref });
      }
      return;
    }
    if (isFrame(frame, 'error')) {
      const error = RealtimeClientError.fromPayload(frame.data);
      // Without a ref (an older server, or a frame the server could not read) the oldest request
      // is the best guess: the server answers one connection's frames in order.
      const answered =
        frame.ref === undefined ? this.pending.rejectOldest(error) : this.pending.rejectRef(frame.ref, error);
      if (!answered) this.events.emit('error', frame.data);
      return;
    }
    if (isFrame(frame, 'room_message') || isFrame(frame, 'direct_message')) {
      if (this.syncBuffer) this.syncBuffer.push(frame);
      else this.deliver(frame);
      this.answer(frame);
      return;
    }
    if (this.answer(frame)) return;
    if (isFrame(frame, 'user_connected')) this.events.emit('user_connected', frame.data);
    else if (isFrame(frame, 'user_disconnected')) this.events.emit('user_disconnected', frame.data);
  }

  /** Settles the request this frame answers: by its ref, or by its content from a server without refs. */
  private answer(frame: Envelope): boolean {
    if (frame.ref !== undefined) return this.pending.resolveRef(frame.ref, frame);
    if (this.protocol.echoesRefs) return false;
    return this.pending.resolveMatching(frame);
  }

  /** Emits a message unless it was delivered already; returns whether it was. */
  private deliver(frame: Envelope): boolean {
    if (isFrame(frame, 'room_message')) {
      if (!this.tracker.accept(roomKey(frame.data.room), frame.data.id)) return false;
      this.events.emit('room_message', frame.data);
      return true;
    }
    if (isFrame(frame, 'direct_message')) {
      const peer = this.isMine(frame.data.from_user_id) ? frame.data.to_user_id : frame.data.from_user_id;
      if (!this.tracker.accept(dmKey(peer), frame.data.id)) return false;
      this.events.emit('direct_message', frame.data);
      return true;
    }
    return false;
  }

  private isMine(userId: WireUserId): boolean {
    const mine = this.userId;
    return mine === undefined || String(userId) === mine;
  }

  private async synchronize(resync: boolean): Promise<RoomsSyncReport> {
    const report: RoomsSyncReport = {
      rooms: [],
      failedRooms: [],
      roomMessages: 0,
      directMessages: 0,
      discoveredPeers: [],
    };
    // Every message up to this id reached this client (live or caught up) before the connection dropped.
    const seenUpTo = this.tracker.newestId;
    this.syncBuffer = [];
    for (const room of [...this.rooms]) {
      try {
        await this.sendNow('join_room', { room }, (f) => isFrame(f, 'join_room_ack') && f.data.room === room);
        report.rooms.push(room);
      } catch (error) {
        if (!isRefusal(error)) throw error;
        this.rooms.delete(room);
        report.failedRooms.push({ room, code: error.code });
        this.events.emit('error', {
          code: error.code as RealtimeErrorCode,
          message: error.message,
          details: { room },
        });
      }
    }
    const peers = new Map<string, WireUserId>();
    for (const key of this.tracker.keys()) {
      if (key.startsWith(DM_PREFIX)) peers.set(key.slice(DM_PREFIX.length), key.slice(DM_PREFIX.length));
    }
    for (const peer of this.directPeers) if (!peers.has(String(peer))) peers.set(String(peer), peer);
    if (resync) {
      for (const room of report.rooms) report.roomMessages += await this.catchUpRoom(room);
      for (const conversation of await this.conversationsAfter(seenUpTo)) {
        const key = String(conversation.with_user);
        if (peers.has(key)) continue;
        peers.set(key, conversation.with_user);
        report.discoveredPeers.push(conversation.with_user);
        // A new peer: nothing of this conversation up to `seenUpTo` was missed.
        this.tracker.advance(dmKey(conversation.with_user), seenUpTo);
      }
      for (const peer of peers.values()) report.directMessages += await this.catchUpDirect(peer);
    } else {
      // First connection: the newest message of each watched direct conversation becomes its watermark.
      for (const peer of peers.values()) {
        if (this.tracker.lastId(dmKey(peer)) !== undefined) continue;
        const page = await this.sendNow('dm_history', { with_user: peer, limit: 1 }, (f) =>
          answersDmHistory(f, peer),
        );
        this.tracker.advance(dmKey(peer), (page.data as MessageHistoryData).messages.at(-1)?.id ?? 0);
      }
      // The newest direct message of this user so far: direct messages above it are new.
      const newest = await this.conversationsPage(conversationsQuery(undefined, undefined));
      this.tracker.observe(newest?.conversations[0]?.last_id ?? 0);
    }
    // Live messages that arrived during the catch-up, in id order; duplicates of history are dropped.
    const buffered = (this.syncBuffer ?? []).sort((a, b) => messageId(a) - messageId(b));
    this.syncBuffer = undefined;
    for (const frame of buffered) this.deliver(frame);
    return report;
  }

  /** Every direct conversation with a message after `afterId`, all pages. */
  private async conversationsAfter(afterId: number): Promise<DmConversationSummary[]> {
    const conversations: DmConversationSummary[] = [];
    let beforeId: number | undefined;
    for (;;) {
      const page = await this.conversationsPage(conversationsQuery(afterId, beforeId));
      if (page === undefined) return conversations;
      conversations.push(...page.conversations);
      const oldest = page.conversations.at(-1);
      if (!page.has_more || oldest === undefined) return conversations;
      beforeId = oldest.last_id;
    }
  }

  /** One `dm_conversations` answer; undefined from a server that refuses it (one older than this frame). */
  private async conversationsPage(query: DmConversationsData): Promise<DmConversationListData | undefined> {
    try {
      const answer = await this.sendNow('dm_conversations', query, (f) => isFrame(f, 'dm_conversations'));
      return answer.data as DmConversationListData;
    } catch (error) {
      if (!isRefusal(error)) throw error;
      return undefined;
    }
  }

  private async catchUpRoom(room: string): Promise<number> {
    let delivered = 0;
    let after = this.tracker.lastId(roomKey(room)) ?? 0;
    for (;;) {
      const page = await this.sendNow('room_history', { room, after_id: after, limit: this.pageSize }, (f) =>
        answersRoomHistory(f, room),
      );
      const history = page.data as MessageHistoryData;
      for (const message of history.messages) {
        if (this.deliver({ type: 'room_message', data: toRoomMessage(room, message) })) delivered += 1;
        after = Math.max(after, message.id);
      }
      if (!history.has_more || history.messages.length === 0) return delivered;
    }
  }

  private async catchUpDirect(peer: WireUserId): Promise<number> {
    let delivered = 0;
    let after = this.tracker.lastId(dmKey(peer)) ?? 0;
    for (;;) {
      const page = await this.sendNow(
        'dm_history',
        { with_user: peer, after_id: after, limit: this.pageSize },
        (f) => answersDmHistory(f, peer),
      );
      const history = page.data as MessageHistoryData;
      for (const message of history.messages) {
        if (this.deliver({ type: 'direct_message', data: toDirectMessage(peer, message) })) delivered += 1;
        after = Math.max(after, message.id);
      }
      if (!history.has_more || history.messages.length === 0) return delivered;
    }
  }
}

/** The server answered with an error frame (as opposed to a lost connection or a timeout). */
function isRefusal(error: unknown): error is RealtimeClientError {
  return (
    error instanceof RealtimeClientError &&
    error.code !== ClientErrorCode.CONNECTION_LOST &&
    error.code !== ClientErrorCode.TIMEOUT
  );
}

function conversationsQuery(afterId: number | undefined, beforeId: number | undefined): DmConversationsData {
  const query: DmConversationsData = {};
  if (afterId !== undefined) query.after_id = afterId;
  if (beforeId !== undefined) query.before_id = beforeId;
  return query;
}

function answersRoomHistory(frame: Envelope, room: string): boolean {
  return isFrame(frame, 'message_history') && frame.data.room === room;
}

function answersDmHistory(frame: Envelope, peer: WireUserId): boolean {
  return (
    isFrame(frame, 'message_history') &&
    frame.data.with_user !== undefined &&
    String(frame.data.with_user) === String(peer)
  );
}

function messageId(frame: Envelope): number {
  return (frame.data as { id: number }).id;
}

function toRoomMessage(room: string, message: HistoryMessage): RoomMessagePayload {
  const { to_user_id: _to, ...rest } = message;
  return { ...rest, room };
}

function toDirectMessage(peer: WireUserId, message: HistoryMessage): DirectMessagePayload {
  const { user_id, username, to_user_id, ...rest } = message;
  return { ...rest, from_user_id: user_id, from_username: username, to_user_id: to_user_id ?? peer };
}
