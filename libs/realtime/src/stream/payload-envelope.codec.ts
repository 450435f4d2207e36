// Log stream codec: frames are `{ type, payload }`. An authentication failure is the specification's
// `auth_error { message }`; any other refused frame is an `error` frame (addition) with the code.
import { decodeEnvelope, encodePayloadEnvelope, RealtimeErrorCode, StreamOutbound } from '../protocol';
import type { FrameCodec } from '../core/transport/frame-codec';

export const payloadEnvelopeCodec: FrameCodec = {
  decode: (text) => decodeEnvelope(text, 'payload'),
  encode: (type, body) => encodePayloadEnvelope(type, body),
  encodeError: (error) =>
    error.code === RealtimeErrorCode.AUTH_FAILED
      ? encodePayloadEnvelope(StreamOutbound.AUTH_ERROR, { message: error.message })
      : encodePayloadEnvelope(StreamOutbound.ERROR, error.toPayload()),
};
