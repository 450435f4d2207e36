// Wire mapping of seed 003: numeric ids become numbers, optional fields appear only when set, and an
// outbound batch concatenated from serialised frames is the JSON it claims to be.
import type { StoredMessage } from '../conversations/conversation.types';
import { storedMessage } from '../conversations/stored-message.helper-spec';
import { encodeEnvelope, fromWireUserId, toWireUserId, type Envelope } from '../protocol';
import {
  concatBatch,
  directMessagePayload,
  historyMessage,
  historyPayload,
  roomMessagePayload,
  serializeDirectMessage,
  serializeRoomMessage,
  withRequestRef,
} from './rooms.frames';

const CREATED = Date.parse('2023-11-20T10:30:00.000Z');

function stored(overrides: Partial<StoredMessage> = {}): StoredMessage {
  return storedMessage({
    id: 123,
    senderId: '789',
    content: 'Bonjour tout le monde !',
    createdAt: CREATED,
    ...overrides,
  });
}

describe('wire user ids', () => {
  it.each([
    ['789', 789],
    ['0', 0],
    ['u-7', 'u-7'],
    ['007', '007'],
    ['99999999999999999999', '99999999999999999999'],
  ])('%s → %p', (internal, wire) => {
    expect(toWireUserId(internal)).toBe(wire);
  });

  it('reads numbers and strings back as the internal string', () => {
    expect(fromWireUserId(456)).toBe('456');
    expect(fromWireUserId('u-7')).toBe('u-7');
  });
});

describe('rooms.frames', () => {
  it('maps a text room message to the seed payload, without optional fields', () => {
    expect(roomMessagePayload(stored(), 'general')).toEqual({
      id: 123,
      room: 'general',
      user_id: 789,
      username: 'alice',
      content: 'Bonjour tout le monde !',
      message_type: 'text',
      created_at: '2023-11-20T10:30:00.000Z',
    });
  });

  it('adds media, duration and reply_to when set', () => {
    const audio = stored({
      messageType: 'audio',
      mediaUrl: '/uploads/audio/voice123.mp3',
      duration: 15.5,
      replyTo: 9,
    });
    expect(roomMessagePayload(audio, 'general')).toMatchObject({
      message_type: 'audio',
      media_url: '/uploads/audio/voice123.mp3',
      duration: 15.5,
      reply_to: 9,
    });
    expect(roomMessagePayload(audio, 'general')).not.toHaveProperty('media_type');
  });

  it('maps a direct message with from_/to_ ids', () => {
    expect(directMessagePayload(stored({ id: 124, room: null, recipientId: '456' }))).toEqual({
      id: 124,
      from_user_id: 789,
      from_username: 'alice',
      to_user_id: 456,
      content: 'Bonjour tout le monde !',
      message_type: 'text',
      created_at: '2023-11-20T10:30:00.000Z',
    });
  });

  it('builds history pages for rooms and DMs (to_user_id on DM items only)', () => {
    expect(historyMessage(stored())).not.toHaveProperty('to_user_id');
    const page = historyPayload(
      { messages: [stored({ recipientId: 'u-2', room: null })], total: 3, hasMore: true },
      { with_user: 'u-2' },
    );
    expect(page).toEqual({
      with_user: 'u-2',
      messages: [expect.objectContaining({ id: 123, user_id: 789, to_user_id: 'u-2' })],
      total: 3,
      has_more: true,
    });
  });

  it('names the sender in the envelope user_id of a room_message frame', () => {
    const frame = JSON.parse(serializeRoomMessage(stored(), 'general')) as Envelope;
    expect(frame).toMatchObject({ type: 'room_message', user_id: 789 });
    expect(new Date(frame.timestamp ?? '').toISOString()).toBe(frame.timestamp);
  });

  it('concatenates serialised frames into a valid message_batch frame', () => {
    const frames = [
      serializeRoomMessage(stored({ id: 1 }), 'general'),
      serializeRoomMessage(stored({ id: 2 }), 'general'),
    ];
    const now = new Date('2024-01-02T03:04:05.678Z');
    const batch = JSON.parse(concatBatch(frames, now)) as Envelope<{ messages: Envelope[] }>;
    expect(batch.type).toBe('message_batch');
    expect(batch.timestamp).toBe('2024-01-02T03:04:05.678Z');
    expect(batch.data.messages).toEqual(frames.map((text) => JSON.parse(text) as Envelope));
  });
});

describe('withRequestRef', () => {
  beforeEach(() => jest.useFakeTimers({ now: CREATED }));
  afterEach(() => jest.useRealTimers());

  // The sender's copy is spliced, not serialised again: it must be the exact bytes of an encoding
  // with the ref, whatever the payload holds (quotes, braces, backslashes and non-ASCII text).
  it.each<[string, () => string]>([
    ['a text room message', () => serializeRoomMessage(stored(), 'général')],
    [
      'a message whose content ends like a frame',
      () => serializeRoomMessage(stored({ content: 'say "}" and \\ then }' }), 'general'),
    ],
    ['a direct message', () => serializeDirectMessage(stored({ room: null, recipientId: 'u-7' }))],
  ])('equals encoding with the ref: %s', (_, serialize) => {
    const shared = serialize();
    const frame = JSON.parse(shared) as Envelope;
    for (const ref of ['1', 'tab-2:req_17.a', 'r'.repeat(64)]) {
      expect(withRequestRef(shared, ref)).toBe(encodeEnvelope(frame.type, frame.data, frame.user_id, ref));
    }
  });
});
