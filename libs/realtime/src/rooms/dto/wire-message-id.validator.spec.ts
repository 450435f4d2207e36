// Message ids in the rooms DTOs: a number or a decimal string, the number once validated, the same on
// the compiled check of hot frames and through the ValidationPipe (whose errors name the field).
import type { Type } from '@nestjs/common';
import { compileDtoCheck } from '../../core/compiled-dto-check';
import { RealtimeError } from '../../core/errors/realtime-error';
import { createRealtimeValidationPipe } from '../../core/realtime-validation.pipe';
import { DirectMessageDto } from './direct-message.dto';
import { DmConversationsDto } from './dm-conversations.dto';
import { DmHistoryDto } from './dm-history.dto';
import { RoomHistoryDto } from './room-history.dto';
import { RoomMessageDto } from './room-message.dto';
import { toWireMessageId } from './wire-message-id.validator';

async function throughPipe(dto: Type<object>, payload: object): Promise<object | RealtimeError> {
  try {
    return (await createRealtimeValidationPipe().transform(
      { ...payload },
      { type: 'body', metatype: dto, data: undefined },
    )) as object;
  } catch (error) {
    if (error instanceof RealtimeError) return error;
    throw error;
  }
}

describe('toWireMessageId', () => {
  it.each([
    [42, 1, 42],
    ['42', 1, 42],
    ['007', 1, 7],
    ['0', 0, 0],
    [String(Number.MAX_SAFE_INTEGER), 1, Number.MAX_SAFE_INTEGER],
  ])('%p (at least %p) is %p', (value, min, id) => {
    expect(toWireMessageId(value, min)).toBe(id);
  });

  it.each([
    ['0', 1],
    [0, 1],
    ['4.2', 0],
    [4.2, 0],
    ['-1', 0],
    [-1, 0],
    ['0x10', 0],
    ['', 0],
    ['12abc', 0],
    [' 42', 0],
    ['42\n', 0],
    ['1e3', 0],
    ['+7', 0],
    ['٤٢', 0],
    [String(Number.MAX_SAFE_INTEGER + 2), 0],
    [Number.MAX_SAFE_INTEGER + 2, 0],
    [NaN, 0],
    [true, 0],
    [null, 0],
    [[42], 0],
  ])('%p is not a message id of at least %p', (value, min) => {
    expect(toWireMessageId(value, min)).toBeUndefined();
  });
});

describe.each<[Type<object>, object, string]>([
  [RoomMessageDto, { room: 'general', content: 'x' }, 'reply_to'],
  [DirectMessageDto, { to_user_id: 2, content: 'x' }, 'reply_to'],
  [RoomHistoryDto, { room: 'general' }, 'after_id'],
  [DmHistoryDto, { with_user: 2 }, 'after_id'],
  [DmConversationsDto, {}, 'after_id'],
  [DmConversationsDto, {}, 'before_id'],
])('%p %s', (dto, base, field) => {
  it('holds the number of a decimal string, on the compiled check and through the pipe alike', async () => {
    const payload = { ...base, [field]: '42' };
    const check = compileDtoCheck(dto);
    expect(check).not.toBeNull();
    const fast = check!({ ...payload });
    const piped = await throughPipe(dto, payload);
    expect(fast).toBeInstanceOf(dto);
    expect(piped).toBeInstanceOf(dto);
    expect(fast).toStrictEqual(piped);
    expect((fast as Record<string, unknown>)[field]).toBe(42);
  });

  it('leaves anything else to the pipe, which refuses it with INVALID_FORMAT naming the field', async () => {
    const payload = { ...base, [field]: '4.2' };
    expect(compileDtoCheck(dto)!({ ...payload })).toBeUndefined();
    const refused = await throughPipe(dto, payload);
    expect(refused).toBeInstanceOf(RealtimeError);
    expect((refused as RealtimeError).code).toBe('INVALID_FORMAT');
    expect((refused as RealtimeError).details).toMatchObject({ field });
  });
});
