// Chat client: the Socket.IO chat (messages with acknowledgement, rooms, typing, presence) with
// the connection lifecycle. Rooms are rejoined after a reconnection; sends made meanwhile are queued.
// Messages missed while away come back by Socket.IO connection state recovery when the server
// restores the session; when it does not (another node without the Redis Streams adapter, a
// restart, a drop longer than the recovery window), they are fetched from the rooms endpoint's
// history with `after_id` (chat-history-catch-up.ts). Either way each is delivered once, in id order.
import type {
  ChatJoinAck,
  ChatMessage,
  ChatMessageAck,
  ChatMessageInput,
  ChatServerToClientEvents,
  OnlineUsersPayload,
  RealtimeErrorPayload,
} from 'nest-realtime/protocol';
import { ConnectionLifecycle } from '../connection/connection-lifecycle';
import { resolveConnectionOptions, type ConnectionOptions } from '../connection/connection.options';
import { ManagedClient } from '../connection/managed-client';
import { ClientErrorCode, isShutdownRefusal, RealtimeClientError } from '../connection/realtime-client.error';
import type { QueuedSend } from '../connection/send-queue';
import { TypedEmitter } from '../connection/typed-emitter';
import { ChatHistoryCatchUp, type ChatCatchUpOptions, type ChatCatchUpResult } from './chat-history-catch-up';
import { SocketIoTransport, type SocketIoOptions } from './socket-io-transport';

export type ChatClientOptions = ConnectionOptions &
  SocketIoOptions & {
    /**
     * Fetching, after a reconnection the server did not recover, the messages missed in the rooms
     * this client was in, from the rooms endpoint's history; `false` turns it off. @default {}
     */
    catchUp?: ChatCatchUpOptions | false;
  };

/** Events a ChatClient emits, with the chat payloads. */
export type ChatClientEvents = {
  [K in keyof ChatServerToClientEvents]: Parameters<ChatServerToClientEvents[K]>[0];
};

export interface ChatSyncReport {
  /** Rooms rejoined. */
  rooms: string[];
  /** The server restored the session (connection state recovery): missed messages were replayed. */
  recovered: boolean;
  /**
   * Not recovered: messages fetched from history and delivered (missed while away). Absent when no
   * catch-up ran: recovered, `catchUp: false`, or no message id known yet to start from.
   */
  caughtUp?: number;
  /** Why the catch-up failed (e.g. the rooms endpoint is not mounted): missed messages may be lacking. */
  catchUpError?: { code: string; message: string };
}

type ErrorAnswer = { error: RealtimeErrorPayload };
type JoinAnswer = ChatJoinAck | ErrorAnswer;

/** Recently delivered message ids kept to drop a second copy. */
const SEEN_WINDOW = 1000;

function isErrorAnswer(answer: unknown): answer is ErrorAnswer {
  return typeof answer === 'object' && answer !== null && 'error' in answer;
}

/** A message id as a number (the server's are numeric); 0 for anything else. */
function numericId(message: ChatMessage): number {
  const id = Number(message.id);
  return Number.isSafeInteger(id) && id > 0 ? id : 0;
}

export class ChatClient extends ManagedClient<ChatSyncReport> {
  protected readonly lifecycle: ConnectionLifecycle<ChatSyncReport>;
  private readonly transport: SocketIoTransport;
  private readonly events = new TypedEmitter<ChatClientEvents>();
  /** Rooms joined, with `join` or by sending to them: rejoined after a reconnection. */
  private readonly rooms = new Set<string>();
  private readonly seen = new Set<string>();
  /** Newest message id delivered per room (the lobby included): where a catch-up starts. */
  private readonly newestByRoom = new Map<string, number>();
  /** Newest message id delivered in any room: the start for a room with none yet (ids are global). */
  private newestId = 0;
  /** Messages received while synchronising, delivered after it with what the catch-up found. */
  private syncBuffer: ChatMessage[] | undefined;
  private readonly requestTimeoutMs: number;
  private readonly catchUp: ChatHistoryCatchUp | null;

  constructor(options: ChatClientOptions) {
    super();
    const resolved = resolveConnectionOptions(options);
    this.requestTimeoutMs = resolved.requestTimeoutMs;
    this.transport = new SocketIoTransport(resolved.url, options);
    this.catchUp =
      options.catchUp === false
        ? null
        : new ChatHistoryCatchUp(resolved.url, resolved.requestTimeoutMs, options.catchUp ?? {});
    this.lifecycle = new ConnectionLifecycle(this.transport, resolved, {
      synchronize: (resync) => this.synchronize(resync),
      connectionLost: () => undefined,
      refreshSession: (token) => this.transport.refresh(token, this.requestTimeoutMs),
    });
    this.transport.attach(this.lifecycle);
    const socket = this.transport.socket;
    socket.on('message', (message) => {
      if (this.syncBuffer) this.syncBuffer.push(message);
      else this.deliver(message);
    });
    socket.on('userTyping', (payload) => this.events.emit('userTyping', payload));
    socket.on('userStatus', (payload) => this.events.emit('userStatus', payload));
    socket.on('error', (payload) => this.events.emit('error', payload));
  }

  on<K extends keyof ChatClientEvents>(
    event: K,
    listener: (payload: ChatClientEvents[K]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  /** Sends a message; resolves with its stored id (queued while reconnecting). */
  async sendMessage(message: string, context?: ChatMessageInput['context']): Promise<{ id: string }> {
    const input: ChatMessageInput = context === undefined ? { message } : { message, context };
    const answer = await this.whenActiveRun(
      (socket) => socket.emitWithAck('message', input) as Promise<ChatMessageAck>,
    );
    if (isErrorAnswer(answer)) throw RealtimeClientError.fromPayload(answer.error);
    // Sending to a room joins it on the server: it is rejoined after a reconnection as well.
    const roomId = context?.roomId;
    if (typeof roomId === 'string') this.rooms.add(roomId);
    return answer;
  }

  /** Joins a room (rejoined after every reconnection). */
  async join(roomId: string): Promise<ChatJoinAck> {
    const answer = await this.whenActiveRun(
      (socket) => socket.emitWithAck('join', { roomId }) as Promise<JoinAnswer>,
    );
    if (isErrorAnswer(answer)) throw RealtimeClientError.fromPayload(answer.error);
    this.rooms.add(roomId);
    return answer;
  }

  async leave(roomId: string): Promise<ChatJoinAck> {
    const answer = await this.whenActiveRun(
      (socket) => socket.emitWithAck('leave', { roomId }) as Promise<JoinAnswer>,
    );
    if (isErrorAnswer(answer)) throw RealtimeClientError.fromPayload(answer.error);
    this.rooms.delete(roomId);
    this.newestByRoom.delete(roomId);
    return answer;
  }

  /** Typing indicators are not queued: stale while reconnecting. Returns whether it was sent. */
  typing(isTyping: boolean): boolean {
    if (!this.transport.isOpen) return false;
    this.transport.socket.emit('typing', isTyping);
    return true;
  }

  onlineUsers(): Promise<OnlineUsersPayload> {
    return this.whenActiveRun((socket) => socket.emitWithAck('onlineUsers'));
  }

  /**
   * Emits when ACTIVE (queued while reconnecting) and resolves with the acknowledgement. An event the
   * server refused as it shuts down (nothing done) is emitted again once reconnected.
   */
  private whenActiveRun<T>(run: (socket: SocketIoTransport['socket']) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const item: QueuedSend = {
        run: () => {
          if (!this.transport.isOpen) {
            reject(
              new RealtimeClientError(ClientErrorCode.CONNECTION_LOST, 'Connection lost before sending'),
            );
            return;
          }
          void run(this.transport.socket.timeout(this.requestTimeoutMs)).then(
            (answer) => {
              if (isErrorAnswer(answer) && isShutdownRefusal(answer.error)) {
                this.lifecycle.requeue(item);
              } else resolve(answer);
            },
            (error: unknown) =>
              reject(
                error instanceof RealtimeClientError
                  ? error
                  : new RealtimeClientError(
                      ClientErrorCode.TIMEOUT,
                      `No acknowledgement within ${this.requestTimeoutMs} ms`,
                    ),
              ),
          );
        },
        fail: reject,
      };
      this.lifecycle.submit(item);
    });
  }

  /** Emits a message unless it was delivered already (a replay, or history and live copies). */
  private deliver(message: ChatMessage): boolean {
    if (this.seen.has(message.id)) return false;
    this.seen.add(message.id);
    if (this.seen.size > SEEN_WINDOW) this.seen.delete(this.seen.values().next().value as string);
    const id = numericId(message);
    const room = message.context?.roomId;
    if (typeof room === 'string' && id > (this.newestByRoom.get(room) ?? 0)) this.newestByRoom.set(room, id);
    if (id > this.newestId) this.newestId = id;
    this.events.emit('message', message);
    return true;
  }

  private async synchronize(resync: boolean): Promise<ChatSyncReport> {
    // Nothing is delivered until the end: the catch-up starts from what was delivered before the drop.
    this.syncBuffer = [];
    try {
      const rooms = await this.rejoinRooms();
      // socket.io-client leaves it undefined when the server offers no recovery at all.
      const recovered = this.transport.socket.recovered === true;
      const report: ChatSyncReport = { rooms: resync ? rooms : [], recovered };
      let fetched: ChatCatchUpResult | undefined;
      if (resync && !recovered && this.catchUp) {
        const starts = this.catchUpStarts(rooms);
        if (starts.size > 0) fetched = await this.catchUp.fetch(this.lifecycle.currentToken, starts);
      }
      const caughtUp = this.flushSyncBuffer(fetched?.messages ?? []);
      if (fetched) {
        report.caughtUp = caughtUp;
        if (fetched.error) report.catchUpError = fetched.error;
      }
      return report;
    } finally {
      // A synchronisation that failed still delivers what arrived meanwhile.
      if (this.syncBuffer) this.flushSyncBuffer([]);
    }
  }

  /**
   * The rooms this socket is in again (those rejoined, and the lobby it entered by connecting, known
   * from its messages) with the id after which each one's history is missed. A room with no message
   * delivered yet starts after the newest message of any room; none when no id is known at all.
   */
  private catchUpStarts(rejoined: string[]): Map<string, number> {
    const starts = new Map<string, number>();
    for (const room of new Set([...rejoined, ...this.newestByRoom.keys()])) {
      const after = this.newestByRoom.get(room) ?? this.newestId;
      if (after > 0) starts.set(room, after);
    }
    return starts;
  }

  /**
   * Delivers the live messages received while synchronising merged with those fetched from history,
   * each once, in id order; returns how many of the fetched ones were new (not received live).
   */
  private flushSyncBuffer(fetched: ChatMessage[]): number {
    const live = this.syncBuffer ?? [];
    this.syncBuffer = undefined;
    const liveIds = new Set(live.map((message) => message.id));
    // A stable sort: a message both received live and fetched is delivered once, as received (history
    // does not carry the whole context it was sent with).
    const merged = [...live, ...fetched].sort((a, b) => numericId(a) - numericId(b));
    const fetchedIds = new Set(fetched.map((message) => message.id));
    let missed = 0;
    for (const message of merged) {
      if (this.deliver(message) && fetchedIds.has(message.id) && !liveIds.has(message.id)) missed += 1;
    }
    return missed;
  }

  private async rejoinRooms(): Promise<string[]> {
    const socket = this.transport.socket.timeout(this.requestTimeoutMs);
    const rooms: string[] = [];
    for (const roomId of [...this.rooms]) {
      const answer = (await socket.emitWithAck('join', { roomId })) as JoinAnswer;
      if (isErrorAnswer(answer)) {
        this.rooms.delete(roomId);
        this.newestByRoom.delete(roomId);
        this.events.emit('error', answer.error);
      } else {
        rooms.push(roomId);
      }
    }
    return rooms;
  }
}

export type { ChatMessage };
