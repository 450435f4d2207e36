// How a raw WebSocket endpoint reads and writes frames: one codec per protocol.
import { decodeEnvelope, encodeEnvelope, type DecodedFrame } from '../../protocol';
import type { RealtimeError } from '../errors/realtime-error';

export interface FrameCodec {
  decode(text: string): DecodedFrame;
  encode(type: string, body: unknown): string;
  encodeError(error: RealtimeError): string;
}

/** Rooms protocol: `{ type, data, timestamp, user_id? }`; errors are `error` frames `{ message, code, details }`. */
export const dataEnvelopeCodec: FrameCodec = {
  decode: (text) => decodeEnvelope(text, 'data'),
  encode: (type, body) => encodeEnvelope(type, body),
  encodeError: (error) => encodeEnvelope('error', error.toPayload()),
};
