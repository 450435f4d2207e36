// The seed 004 codec: `{ type, payload }` both ways; auth failures are the seed's auth_error.
import { RealtimeError, RefreshRefusedError } from '../core/errors/realtime-error';
import { payloadEnvelopeCodec } from './payload-envelope.codec';

describe('payloadEnvelopeCodec', () => {
  it('encodes { type, payload } and nothing else', () => {
    expect(JSON.parse(payloadEnvelopeCodec.encode('logs', [{ id: '1' }]))).toEqual({
      type: 'logs',
      payload: [{ id: '1' }],
    });
  });

  it('decodes the payload of a client frame, {} when absent', () => {
    expect(payloadEnvelopeCodec.decode('{"type":"auth","payload":{"token":"t"}}')).toEqual({
      ok: true,
      type: 'auth',
      data: { token: 't' },
    });
    expect(payloadEnvelopeCodec.decode('{"type":"subscribe"}')).toEqual({
      ok: true,
      type: 'subscribe',
      data: {},
    });
  });

  it('refuses frames that are not JSON objects with a type', () => {
    expect(payloadEnvelopeCodec.decode('nope')).toMatchObject({
      ok: false,
      error: { code: 'INVALID_FORMAT', message: 'Frame is not valid JSON' },
    });
    expect(payloadEnvelopeCodec.decode('[1]')).toMatchObject({ ok: false });
    expect(payloadEnvelopeCodec.decode('{"payload":{}}')).toMatchObject({
      ok: false,
      error: { details: { field: 'type' } },
    });
  });

  it('turns an authentication failure into auth_error { message } exactly', () => {
    const frame = JSON.parse(payloadEnvelopeCodec.encodeError(RealtimeError.authFailed('Token expired')));
    expect(frame).toEqual({ type: 'auth_error', payload: { message: 'Token expired' } });
  });

  it('turns a refused token refresh, which keeps the session, into an error frame (not auth_error)', () => {
    const frame = JSON.parse(
      payloadEnvelopeCodec.encodeError(new RefreshRefusedError('Token is for another app')),
    );
    expect(frame).toEqual({
      type: 'error',
      payload: {
        code: 'AUTH_FAILED',
        message: 'Token is for another app',
        details: { reason: 'refresh_refused' },
      },
    });
  });

  it('turns any other error into an error frame with code and details', () => {
    const error = RealtimeError.invalidFormat('Unknown message type "x"', { type: 'x' });
    expect(JSON.parse(payloadEnvelopeCodec.encodeError(error))).toEqual({
      type: 'error',
      payload: { code: 'INVALID_FORMAT', message: 'Unknown message type "x"', details: { type: 'x' } },
    });
  });
});
