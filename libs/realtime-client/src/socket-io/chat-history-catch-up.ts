// The chat's fallback when Socket.IO connection state recovery did not restore a session: the
// messages missed in each room, fetched with `after_id` from the history of the rooms endpoint (the
// chat and the rooms endpoint share one message store), over a short-lived RoomsClient connection,
// and turned into the chat's `message` payload.
import { fromWireUserId, type ChatMessage, type HistoryMessage } from 'nest-realtime/protocol';
import { ClientErrorCode, RealtimeClientError } from '../connection/realtime-client.error';
import { RoomsClient } from '../rooms/rooms-client';
import type { WebSocketConstructor } from '../websocket/websocket.types';

export interface ChatCatchUpOptions {
  /** Path of the rooms endpoint, whose history fills the gap. @default '/ws/chat' */
  path?: string;
  /** Messages per history request (at most the server's `limits.maxHistoryLimit`). @default 50 */
  pageSize?: number;
  /** WebSocket class for that endpoint. @default globalThis.WebSocket, else the `ws` package (Node) */
  webSocket?: WebSocketConstructor;
}

export interface ChatCatchUpResult {
  /** The messages after each room's start, in the chat's payload. */
  messages: ChatMessage[];
  /** Set when the history could not be read, or not all of it (what was read is in `messages`). */
  error?: { code: string; message: string };
}

/**
 * A history message as the chat delivers it. The chat's `context` beyond `roomId` and `replyTo` is
 * not in the rooms history, so it is not restored.
 */
export function chatMessageFromHistory(room: string, message: HistoryMessage): ChatMessage {
  const context: Record<string, unknown> = { roomId: room };
  if (message.reply_to !== undefined) context.replyTo = String(message.reply_to);
  return {
    id: String(message.id),
    message: message.content,
    timestamp: message.created_at,
    context,
    userId: fromWireUserId(message.user_id),
    username: message.username,
  };
}

export class ChatHistoryCatchUp {
  private readonly path: string;
  private readonly pageSize: number;

  constructor(
    private readonly url: string,
    private readonly requestTimeoutMs: number,
    private readonly options: ChatCatchUpOptions,
  ) {
    this.path = options.path ?? '/ws/chat';
    this.pageSize = options.pageSize ?? 50;
  }

  /** The messages after `starts.get(room)` in each room, with the token of the chat connection. */
  async fetch(token: string | undefined, starts: ReadonlyMap<string, number>): Promise<ChatCatchUpResult> {
    const messages: ChatMessage[] = [];
    if (token === undefined) {
      return {
        messages,
        error: { code: ClientErrorCode.NOT_CONNECTED, message: 'No token to read history' },
      };
    }
    // One attempt, no heartbeat: it lives for a few requests while the chat synchronises.
    const reader = new RoomsClient({
      url: this.url,
      token,
      path: this.path,
      webSocket: this.options.webSocket,
      heartbeat: false,
      retryFirstConnection: false,
      reconnection: { autoReconnect: false },
      connectTimeoutMs: this.requestTimeoutMs,
      requestTimeoutMs: this.requestTimeoutMs,
    });
    let error: ChatCatchUpResult['error'];
    try {
      await reader.connect();
      for (const [room, start] of starts) {
        try {
          await this.readRoom(reader, room, start, messages);
        } catch (refusal) {
          // The server refused this room (left private, removed): the others are still read.
          if (!isRefusal(refusal)) throw refusal;
          error ??= { code: refusal.code, message: `${room}: ${refusal.message}` };
        }
      }
    } catch (failure) {
      error =
        failure instanceof RealtimeClientError
          ? { code: failure.code, message: failure.message }
          : { code: ClientErrorCode.CONNECTION_LOST, message: String(failure) };
    } finally {
      reader.close();
    }
    return error === undefined ? { messages } : { messages, error };
  }

  /** Appends the room's messages after `start`, page after page. */
  private async readRoom(
    reader: RoomsClient,
    room: string,
    start: number,
    into: ChatMessage[],
  ): Promise<void> {
    let after = start;
    for (;;) {
      const page = await reader.roomHistory({ room, after_id: after, limit: this.pageSize });
      for (const message of page.messages) {
        into.push(chatMessageFromHistory(room, message));
        after = Math.max(after, message.id);
      }
      if (!page.has_more || page.messages.length === 0) return;
    }
  }
}

/** The server answered with an error (as opposed to a lost connection or a timeout). */
function isRefusal(error: unknown): error is RealtimeClientError {
  return (
    error instanceof RealtimeClientError &&
    error.code !== ClientErrorCode.CONNECTION_LOST &&
    error.code !== ClientErrorCode.TIMEOUT &&
    error.code !== ClientErrorCode.NOT_CONNECTED
  );
}
