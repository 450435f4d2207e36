// CompiledValidationPipe against the ValidationPipe it stands in front of: the same DTO or the same
// error for the gateways' bodies, and untouched arguments that are not DTO bodies.
import type { ArgumentMetadata, Type } from '@nestjs/common';
import { ChatJoinDto } from '../chat/dto/chat-join.dto';
import { JoinRoomDto } from '../rooms/dto/join-room.dto';
import { LeaveRoomDto } from '../rooms/dto/leave-room.dto';
import { RoomHistoryDto } from '../rooms/dto/room-history.dto';
import { CompiledValidationPipe } from './compiled-validation.pipe';
import { RealtimeError } from './errors/realtime-error';
import { createRealtimeValidationPipe } from './realtime-validation.pipe';

type Outcome = { value: unknown; type: string | null } | { error: unknown };

async function outcome(
  pipe: { transform(value: unknown, metadata: ArgumentMetadata): unknown },
  payload: unknown,
  metadata: ArgumentMetadata,
): Promise<Outcome> {
  try {
    const value = await pipe.transform(JSON.parse(JSON.stringify(payload)) as unknown, metadata);
    const type = typeof value === 'object' && value !== null ? value.constructor.name : null;
    return { value, type };
  } catch (error) {
    if (error instanceof RealtimeError) return { error: error.toPayload() };
    throw error;
  }
}

const body = (metatype: Type<object>): ArgumentMetadata => ({ type: 'body', metatype, data: undefined });

describe('CompiledValidationPipe', () => {
  const cases: Array<[Type<object>, unknown[]]> = [
    [
      JoinRoomDto,
      [
        { room: 'general' },
        { room: 'general', extra: 'stripped' },
        { room: '' },
        { room: 'x'.repeat(65) },
        { room: 42 },
        { room: null },
        {},
        { room: { nested: true } },
        'general',
        null,
        [],
      ],
    ],
    [LeaveRoomDto, [{ room: 'general' }, { room: 7 }, {}]],
    [
      RoomHistoryDto,
      [{ room: 'general' }, { room: 'general', limit: 10, offset: 5 }, { room: 'general', limit: -1 }],
    ],
    [ChatJoinDto, [{ roomId: 'lobby' }, { roomId: 'no way' }, { roomId: 1 }, { roomId: 'a', more: 1 }]],
  ];

  it.each(cases)('%p: the same DTO or the same error as ValidationPipe', async (dto, payloads) => {
    const compiled = new CompiledValidationPipe();
    const reference = createRealtimeValidationPipe();
    for (const payload of payloads) {
      expect(await outcome(compiled, payload, body(dto))).toEqual(
        await outcome(reference, payload, body(dto)),
      );
    }
  });

  it('builds valid bodies itself (no ValidationPipe call) and refused ones through the pipe', async () => {
    const compiled = new CompiledValidationPipe();
    const piped = jest.spyOn(
      (compiled as unknown as { pipe: { transform: (v: unknown, m: ArgumentMetadata) => unknown } }).pipe,
      'transform',
    );
    const dto = await compiled.transform({ room: 'general', extra: 1 }, body(JoinRoomDto));
    expect(dto).toBeInstanceOf(JoinRoomDto);
    expect(dto).toEqual({ room: 'general' });
    expect(piped).not.toHaveBeenCalled();
    await expect(
      Promise.resolve().then(() => compiled.transform({ room: '' }, body(JoinRoomDto))),
    ).rejects.toThrow(RealtimeError);
    expect(piped).toHaveBeenCalledTimes(1);
  });

  it('leaves other arguments to the pipe as they are', async () => {
    const compiled = new CompiledValidationPipe();
    const reference = createRealtimeValidationPipe();
    const others: ArgumentMetadata[] = [
      { type: 'body', metatype: Object, data: undefined },
      { type: 'body', metatype: Boolean, data: undefined },
      { type: 'body', metatype: undefined, data: undefined },
      { type: 'custom', metatype: JoinRoomDto, data: undefined },
    ];
    for (const metadata of others) {
      for (const payload of [true, { room: 'general' }, 'text']) {
        expect(await outcome(compiled, payload, metadata)).toEqual(
          await outcome(reference, payload, metadata),
        );
      }
    }
  });
});
