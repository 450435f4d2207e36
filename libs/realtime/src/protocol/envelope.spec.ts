// The seed 003 envelope: decodeEnvelope answers every malformed frame with an INVALID_FORMAT payload
// (never throws); encodeEnvelope stamps an ISO timestamp and adds user_id and the request id only when given.
import { decodeEnvelope, encodeEnvelope, isRequestRef, REQUEST_REF, type Envelope } from './envelope';
import { RealtimeErrorCode } from './error-codes';

describe('decodeEnvelope', () => {
  it.each([
    ['invalid JSON', '{"type": "join_room",', 'Frame is not valid JSON', {}],
    ['an empty frame', '', 'Frame is not valid JSON', {}],
    ['an array', '[{"type":"join_room"}]', 'Frame must be a JSON object', {}],
    ['null', 'null', 'Frame must be a JSON object', {}],
    ['a string', '"join_room"', 'Frame must be a JSON object', {}],
    ['a number', '42', 'Frame must be a JSON object', {}],
    ['a frame without type', '{"data":{"room":"general"}}', 'Frame has no "type"', { field: 'type' }],
    ['a numeric type', '{"type":3,"data":{}}', 'Frame has no "type"', { field: 'type' }],
    ['an object type', '{"type":{"name":"join_room"}}', 'Frame has no "type"', { field: 'type' }],
    ['an empty type', '{"type":""}', 'Frame has no "type"', { field: 'type' }],
  ])('answers %s with INVALID_FORMAT', (_label, text, message, details) => {
    expect(decodeEnvelope(text)).toEqual({
      ok: false,
      error: { code: RealtimeErrorCode.INVALID_FORMAT, message, details },
    });
  });

  it('returns the type and data of a valid frame', () => {
    expect(decodeEnvelope('{"type":"send_message","data":{"room":"general","content":"hi"}}')).toEqual({
      ok: true,
      type: 'send_message',
      data: { room: 'general', content: 'hi' },
    });
  });

  it('returns an empty object when the frame has no data', () => {
    expect(decodeEnvelope('{"type":"list_rooms"}')).toEqual({ ok: true, type: 'list_rooms', data: {} });
  });

  it('keeps data that is not an object as it came, for the handler to validate', () => {
    expect(decodeEnvelope('{"type":"ping","data":null}')).toEqual({ ok: true, type: 'ping', data: null });
    expect(decodeEnvelope('{"type":"ping","data":[1,2]}')).toEqual({ ok: true, type: 'ping', data: [1, 2] });
    expect(decodeEnvelope('{"type":"ping","data":"x"}')).toEqual({ ok: true, type: 'ping', data: 'x' });
  });

  it('ignores unknown keys of the frame', () => {
    expect(decodeEnvelope('{"type":"ping","data":{"a":1},"timestamp":"t","extra":true}')).toEqual({
      ok: true,
      type: 'ping',
      data: { a: 1 },
    });
  });

  describe('request id (ref)', () => {
    it.each([
      ['a counter', 'r1'],
      ['every allowed character', 'Tab-2_req.7:a'],
      ['one character', 'x'],
      ['64 characters', 'a'.repeat(64)],
    ])('returns %s as ref', (_label, ref) => {
      expect(decodeEnvelope(JSON.stringify({ type: 'ping', data: {}, ref }))).toEqual({
        ok: true,
        type: 'ping',
        data: {},
        ref,
      });
    });

    it('returns no ref key when the frame has none', () => {
      expect(decodeEnvelope('{"type":"ping","data":{}}')).not.toHaveProperty('ref');
    });

    it.each([
      ['too long', 'a'.repeat(65)],
      ['empty', ''],
      ['with a space', 'r 1'],
      ['with a slash', 'r/1'],
      ['with a quote', 'r"1'],
      ['not ASCII', 'réf'],
      ['a number', 7],
      ['null', null],
      ['an object', { id: 'r1' }],
    ])('answers a ref that is %s with INVALID_FORMAT on field ref', (_label, ref) => {
      expect(decodeEnvelope(JSON.stringify({ type: 'ping', data: {}, ref }))).toEqual({
        ok: false,
        error: {
          code: RealtimeErrorCode.INVALID_FORMAT,
          message: 'Frame "ref" must be 1 to 64 letters, digits, "-", "_", "." or ":"',
          details: { field: 'ref' },
        },
      });
    });

    it('checks the type before the ref', () => {
      expect(decodeEnvelope('{"ref":7}')).toMatchObject({ ok: false, error: { details: { field: 'type' } } });
    });

    it('shares its rule through REQUEST_REF and isRequestRef', () => {
      expect(REQUEST_REF.test('a:b.c-d_e')).toBe(true);
      expect(REQUEST_REF.test('a'.repeat(65))).toBe(false);
      expect(isRequestRef('r1')).toBe(true);
      expect(isRequestRef(1)).toBe(false);
    });
  });

  describe("with the 'payload' key", () => {
    it('ignores a ref key, which the log stream does not define', () => {
      expect(decodeEnvelope('{"type":"subscribe","payload":{},"ref":7}', 'payload')).toEqual({
        ok: true,
        type: 'subscribe',
        data: {},
      });
    });

    it('reads the data from payload', () => {
      expect(decodeEnvelope('{"type":"subscribe","payload":{"level":"warn"}}', 'payload')).toEqual({
        ok: true,
        type: 'subscribe',
        data: { level: 'warn' },
      });
    });

    it('ignores a data key', () => {
      expect(decodeEnvelope('{"type":"subscribe","data":{"level":"warn"}}', 'payload')).toEqual({
        ok: true,
        type: 'subscribe',
        data: {},
      });
    });

    it('still refuses a frame without type', () => {
      expect(decodeEnvelope('{"payload":{}}', 'payload')).toMatchObject({
        ok: false,
        error: { code: RealtimeErrorCode.INVALID_FORMAT },
      });
    });
  });
});

describe('encodeEnvelope', () => {
  const NOW = '2025-06-07T08:09:10.123Z';

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date(NOW) });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  function parse(text: string): Envelope {
    return JSON.parse(text) as Envelope;
  }

  it('sets type, data and the current time as an ISO 8601 timestamp', () => {
    const frame = parse(encodeEnvelope('room_joined', { room: 'general' }));
    expect(frame).toEqual({ type: 'room_joined', data: { room: 'general' }, timestamp: NOW });
    expect(frame).not.toHaveProperty('user_id');
  });

  it('adds user_id when given', () => {
    expect(parse(encodeEnvelope('message', { content: 'hi' }, 42))).toEqual({
      type: 'message',
      data: { content: 'hi' },
      timestamp: NOW,
      user_id: 42,
    });
    expect(parse(encodeEnvelope('message', { content: 'hi' }, 'u-7')).user_id).toBe('u-7');
  });

  it('keeps a falsy user id such as 0', () => {
    expect(parse(encodeEnvelope('message', {}, 0)).user_id).toBe(0);
  });

  it('adds ref when given, last, so that the frame extends its copy without ref', () => {
    const withRef = encodeEnvelope('room_message', { content: 'hi' }, 42, 'r1');
    const withoutRef = encodeEnvelope('room_message', { content: 'hi' }, 42);
    expect(parse(withRef)).toEqual({
      type: 'room_message',
      data: { content: 'hi' },
      timestamp: NOW,
      user_id: 42,
      ref: 'r1',
    });
    expect(withRef).toBe(`${withoutRef.slice(0, -1)},"ref":"r1"}`);
    expect(parse(encodeEnvelope('pong', {}, undefined, 'r2'))).toEqual({
      type: 'pong',
      data: {},
      timestamp: NOW,
      ref: 'r2',
    });
  });

  it('writes the same bytes as before when no ref is given', () => {
    expect(encodeEnvelope('message', { content: 'hi' }, 42)).toBe(
      `{"type":"message","data":{"content":"hi"},"timestamp":"${NOW}","user_id":42}`,
    );
    expect(encodeEnvelope('message', { content: 'hi' })).toBe(
      `{"type":"message","data":{"content":"hi"},"timestamp":"${NOW}"}`,
    );
  });

  it('produces a frame that decodes back to the same type, data and ref', () => {
    expect(decodeEnvelope(encodeEnvelope('pong', { a: 1 }, undefined, 'r:9'))).toEqual({
      ok: true,
      type: 'pong',
      data: { a: 1 },
      ref: 'r:9',
    });
  });

  it('produces a frame that decodes back to the same type and data', () => {
    const decoded = decodeEnvelope(encodeEnvelope('history', { messages: [{ id: 1 }] }, 'u-1'));
    expect(decoded).toEqual({ ok: true, type: 'history', data: { messages: [{ id: 1 }] } });
  });
});
