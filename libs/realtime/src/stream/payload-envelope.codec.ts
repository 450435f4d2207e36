// Log stream codec: frames are `{ type, payload }`. An authentication failure, which ends the session,
// is the specification's `auth_error { message }`; any other refused frame, a refused token refresh
// included (the session goes on), is an `error` frame (addition) with the code.
import { decodeEnvelope, encodePayloadEnvelope, StreamOutbound } from '../protocol';
import { endsSession } from '../core/errors/realtime-error';
import type { FrameCodec } from '../core/transport/frame-codec';

export const payloadEnvelopeCodec: FrameCodec = {
  decode: (text) => decodeEnvelope(text, 'payload'),
  encode: (type, body) => encodePayloadEnvelope(type, body),
  encodeError: (error) =>
    endsSession(error)
      ? encodePayloadEnvelope(StreamOutbound.AUTH_ERROR, { message: error.message })
      : encodePayloadEnvelope(StreamOutbound.ERROR, error.toPayload()),
};
