// What every benchmark server and the load generator agree on: the room frames (the rooms protocol's shapes, so
// bare servers send the same JSON as the gateway), the child-process handshake, and the payload.
import { createSecretKey } from 'crypto';
import type { RoomMessagePayload } from 'nest-realtime';

export const BENCH_ROOM = 'bench';

/** The JWT secret of every benchmark server that verifies tokens. */
export const BENCH_SECRET = 'benchmark-secret-0123456789abcdef';

/**
 * BENCH_SECRET as a key object, for the bare servers' `jwt.verify`. Given the string, jsonwebtoken 9
 * tries to decode it as a PEM key on every call (about 50 times the HMAC check); the library makes
 * its key object once (TokenVerifier), and so does every bare server, so that the comparison is of
 * the same check done well on both sides.
 */
export const BENCH_KEY = createSecretKey(Buffer.from(BENCH_SECRET));

/** The publisher's content: a send time (ms, performance.timeOrigin-based) padded to the size asked. */
export function benchContent(sentAt: number, bytes: number): string {
  const head = `t=${sentAt.toFixed(3)};`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

export function sentAtOf(content: string): number {
  const end = content.indexOf(';');
  return Number(content.slice(2, end));
}

/** Where the publisher's content starts in a room_message frame (rooms protocol). */
export const ROOM_CONTENT_MARK = Buffer.from('"content":"t=');
/** Where a chat `message` event's text starts, in a Socket.IO packet. */
export const CHAT_CONTENT_MARK = Buffer.from('"message":"t=');

/**
 * The send time in the frame `buffer[start, end)` after `mark`, found without parsing the frame (NaN
 * when the frame has none): the generators' per-delivery work, kept small.
 */
export function sentAtBetween(buffer: Buffer, start: number, end: number, mark: Buffer): number {
  const frame = start === 0 && end === buffer.length ? buffer : buffer.subarray(start, end);
  const at = frame.indexOf(mark);
  if (at < 0) return Number.NaN;
  const from = at + mark.length;
  const stop = frame.indexOf(0x3b /* ; */, from);
  return stop < 0 ? Number.NaN : Number(frame.toString('latin1', from, stop));
}

/** A time comparable across processes on one machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** The room_message frame the bare servers build exactly like the gateway does. */
export function roomMessageFrame(id: number, content: string, userId: number): string {
  const data: RoomMessagePayload = {
    id,
    room: BENCH_ROOM,
    user_id: userId,
    username: `bench${userId}`,
    content,
    message_type: 'text',
    created_at: new Date().toISOString(),
  };
  return JSON.stringify({ type: 'room_message', data, timestamp: new Date().toISOString() });
}

/** An inbound frame of the bare servers: only join_room and room_message are looked at. */
export interface BareInboundFrame {
  type: string;
  data: { room: string; content?: string };
}

/** The join_room_ack every bare server answers with. */
export function joinRoomAckFrame(room: string): string {
  return JSON.stringify({
    type: 'join_room_ack',
    data: { room, success: true },
    timestamp: new Date().toISOString(),
  });
}

/** Messages between the orchestrator and a server process (IPC). */
export type ServerRequest = { kind: 'usage'; gc: boolean } | { kind: 'stop' };
export interface ServerUsage {
  cpuMicros: number;
  /** The user and system parts of `cpuMicros`. */
  cpuUserMicros: number;
  cpuSystemMicros: number;
  heapUsed: number;
  rss: number;
  connections: number;
}
export type ServerMessage = { kind: 'ready'; port: number } | ({ kind: 'usage' } & ServerUsage);

/** Answers the orchestrator's usage requests; `connections` is the server's own count. */
export function serveUsage(connections: () => number, stop: () => Promise<void>): void {
  process.on('message', (request: ServerRequest) => {
    if (request.kind === 'stop') {
      void stop().finally(() => process.exit(0));
      return;
    }
    if (request.gc && typeof global.gc === 'function') {
      global.gc();
      global.gc();
    }
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const usage: ServerMessage = {
      kind: 'usage',
      cpuMicros: cpu.user + cpu.system,
      cpuUserMicros: cpu.user,
      cpuSystemMicros: cpu.system,
      heapUsed: memory.heapUsed,
      rss: memory.rss,
      connections: connections(),
    };
    process.send?.(usage);
  });
}

export function announceReady(port: number): void {
  const message: ServerMessage = { kind: 'ready', port };
  process.send?.(message);
}
