// Rooms protocol frame envelope `{ type, data, timestamp, user_id?, ref? }`: types and the pure
// encode/decode functions used by the server, the client SDK and the tests.
import { RealtimeErrorCode, type RealtimeErrorPayload } from './error-codes';

/** A frame of the raw WebSocket rooms protocol. */
export interface Envelope<T = unknown> {
  type: string;
  data: T;
  /** ISO 8601; always set on server frames. */
  timestamp?: string;
  /** Sender's user id, on frames that carry someone's message. */
  user_id?: number | string;
  /**
   * Request id (see `REQUEST_REF`): chosen by the client on an inbound frame, echoed by the server on
   * the answers and errors of that frame and on the sending connection's copy of the message it posted.
   */
  ref?: string;
}

/**
 * A request id: 1 to 64 letters, digits, `-`, `_`, `.` or `:`. Short and plain so that the server can
 * echo it without escaping and a client can build one from a counter.
 */
export const REQUEST_REF = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Whether a value is a valid request id (`REQUEST_REF`). */
export function isRequestRef(value: unknown): value is string {
  return typeof value === 'string' && REQUEST_REF.test(value);
}

/** The rooms protocol's `error` frame. */
export type ErrorEnvelope = Envelope<RealtimeErrorPayload> & { type: 'error' };

/** Result of decoding one inbound text frame. */
export type DecodedFrame =
  { ok: true; type: string; data: unknown; ref?: string } | { ok: false; error: RealtimeErrorPayload };

function invalid(message: string, details: Record<string, unknown> = {}): DecodedFrame {
  return { ok: false, error: { code: RealtimeErrorCode.INVALID_FORMAT, message, details } };
}

/**
 * Decodes an inbound frame; never throws. Rooms frames (`data`) may carry a request id, returned as
 * `ref`; the log stream's frames (`payload`) have none, so their `ref` key is ignored as before.
 */
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
  const decoded: DecodedFrame = { ok: true, type: frame.type, data: data === undefined ? {} : data };
  if (dataKey === 'data' && frame.ref !== undefined) {
    if (!isRequestRef(frame.ref)) {
      return invalid('Frame "ref" must be 1 to 64 letters, digits, "-", "_", "." or ":"', { field: 'ref' });
    }
    decoded.ref = frame.ref;
  }
  return decoded;
}

/**
 * Serialises a server frame (once; the result may be written to many connections). `ref` is the
 * request id to echo; it is written last, so the sender's copy of a broadcast is the others' copy
 * with `,"ref":"…"` before its closing brace.
 */
export function encodeEnvelope(type: string, data: unknown, userId?: number | string, ref?: string): string {
  const frame: Envelope = { type, data, timestamp: new Date().toISOString() };
  if (userId !== undefined) frame.user_id = userId;
  if (ref !== undefined) frame.ref = ref;
  return JSON.stringify(frame);
}
