// Chat client: the Socket.IO chat (messages with acknowledgement, rooms, typing, presence) with
// the connection lifecycle. Rooms are rejoined after a reconnection; sends made meanwhile are queued.
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
import { ClientErrorCode, RealtimeClientError } from '../connection/realtime-client.error';
import { TypedEmitter } from '../connection/typed-emitter';
import { SocketIoTransport, type SocketIoOptions } from './socket-io-transport';

export type ChatClientOptions = ConnectionOptions & SocketIoOptions;

/** Events a ChatClient emits, with the chat payloads. */
export type ChatClientEvents = {
  [K in keyof ChatServerToClientEvents]: Parameters<ChatServerToClientEvents[K]>[0];
};

export interface ChatSyncReport {
  /** Rooms rejoined. */
  rooms: string[];
  /** The server restored the session (connection state recovery): missed messages were replayed. */
  recovered: boolean;
}

type ErrorAnswer = { error: RealtimeErrorPayload };
type JoinAnswer = ChatJoinAck | ErrorAnswer;

function isErrorAnswer(answer: unknown): answer is ErrorAnswer {
  return typeof answer === 'object' && answer !== null && 'error' in answer;
}

export class ChatClient extends ManagedClient<ChatSyncReport> {
  protected readonly lifecycle: ConnectionLifecycle<ChatSyncReport>;
  private readonly transport: SocketIoTransport;
  private readonly events = new TypedEmitter<ChatClientEvents>();
  private readonly rooms = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly requestTimeoutMs: number;

  constructor(options: ChatClientOptions) {
    super();
    const resolved = resolveConnectionOptions(options);
    this.requestTimeoutMs = resolved.requestTimeoutMs;
    this.transport = new SocketIoTransport(resolved.url, options);
    this.lifecycle = new ConnectionLifecycle(this.transport, resolved, {
      synchronize: (resync) => this.synchronize(resync),
      connectionLost: () => undefined,
    });
    this.transport.attach(this.lifecycle);
    const socket = this.transport.socket;
    socket.on('message', (message) => {
      // A message replayed by connection state recovery is delivered once.
      if (this.seen.has(message.id)) return;
      this.seen.add(message.id);
      if (this.seen.size > 1000) this.seen.delete(this.seen.values().next().value as string);
      this.events.emit('message', message);
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

  private whenActiveRun<T>(run: (socket: SocketIoTransport['socket']) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.lifecycle.submit({
        run: () => {
          if (!this.transport.isOpen) {
            reject(
              new RealtimeClientError(ClientErrorCode.CONNECTION_LOST, 'Connection lost before sending'),
            );
            return;
          }
          void run(this.transport.socket.timeout(this.requestTimeoutMs)).then(resolve, (error: unknown) =>
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
      });
    });
  }

  private async synchronize(resync: boolean): Promise<ChatSyncReport> {
    const socket = this.transport.socket.timeout(this.requestTimeoutMs);
    const rooms: string[] = [];
    for (const roomId of [...this.rooms]) {
      const answer = (await socket.emitWithAck('join', { roomId })) as JoinAnswer;
      if (isErrorAnswer(answer)) {
        this.rooms.delete(roomId);
        this.events.emit('error', answer.error);
      } else {
        rooms.push(roomId);
      }
    }
    return { rooms: resync ? rooms : [], recovered: this.transport.socket.recovered };
  }
}

export type { ChatMessage };
