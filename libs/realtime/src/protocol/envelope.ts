// Rooms protocol frame envelope `{ type, data, timestamp, user_id? }`: types and the pure encode/decode
// functions used by the server, the client SDK and the tests.
import { RealtimeErrorCode, type RealtimeErrorPayload } from './error-codes';

/** A frame of the raw WebSocket rooms protocol. */
export interface Envelope<T = unknown> {
  type: string;
  data: T;
  /** ISO 8601; always set on server frames. */
  timestamp?: string;
  /** Sender's user id, on frames that carry someone's message. */
  user_id?: number | string;
}

/** The rooms protocol's `error` frame. */
export type ErrorEnvelope = Envelope<RealtimeErrorPayload> & { type: 'error' };

/** Result of decoding one inbound text frame. */
export type DecodedFrame =
  { ok: true; type: string; data: unknown } | { ok: false; error: RealtimeErrorPayload };

function invalid(message: string, details: Record<string, unknown> = {}): DecodedFrame {
  return { ok: false, error: { code: RealtimeErrorCode.INVALID_FORMAT, message, details } };
}

/** Decodes an inbound frame; never throws. */
export function decodeEnvelope(text: string, dataKey: 'data' | 'payload' = 'data'): DecodedFrame {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return invalid('Frame is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return invalid('Frame must be a JSON object');
  }
  const frame = parsed as Record<string, unknown>;
  if (typeof frame.type !== 'string' || frame.type === '') {
    return invalid('Frame has no "type"', { field: 'type' });
  }
  const data = frame[dataKey];
  return { ok: true, type: frame.type, data: data === undefined ? {} : data };
}

/** Serialises a server frame (once; the result may be written to many connections). */
export function encodeEnvelope(type: string, data: unknown, userId?: number | string): string {
  const frame: Envelope = { type, data, timestamp: new Date().toISOString() };
  if (userId !== undefined) frame.user_id = userId;
  return JSON.stringify(frame);
}
