// How a raw WebSocket endpoint reads and writes frames: one codec per protocol.
import { decodeEnvelope, encodeEnvelope, type DecodedFrame } from '../../protocol';
import type { RealtimeError } from '../errors/realtime-error';

export interface FrameCodec {
  decode(text: string): DecodedFrame;
  /** `ref`: the request id the frame answers; a protocol without request ids ignores it. */
  encode(type: string, body: unknown, ref?: string): string;
  encodeError(error: RealtimeError, ref?: string): string;
}

/**
 * Rooms protocol: `{ type, data, timestamp, user_id?, ref? }`; errors are `error` frames
 * `{ message, code, details }`.
 */
export const dataEnvelopeCodec: FrameCodec = {
  decode: (text) => decodeEnvelope(text, 'data'),
  encode: (type, body, ref) => encodeEnvelope(type, body, undefined, ref),
  encodeError: (error, ref) => encodeEnvelope('error', error.toPayload(), undefined, ref),
};
