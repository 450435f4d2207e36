import type { Type } from '@nestjs/common';
import { Transform, Type as TransformType } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  Min,
  ValidateBy,
  ValidateNested,
  Validate,
  ValidatorConstraint,
} from 'class-validator';
import type { ValidatorConstraintInterface } from 'class-validator';
import { DirectMessageDto } from '../rooms/dto/direct-message.dto';
import { DmHistoryDto } from '../rooms/dto/dm-history.dto';
import { JoinRoomDto } from '../rooms/dto/join-room.dto';
import { RoomHistoryDto } from '../rooms/dto/room-history.dto';
import { RoomMessageDto } from '../rooms/dto/room-message.dto';
import { compileDtoCheck } from './compiled-dto-check';
import { RealtimeError } from './errors/realtime-error';
import { createRealtimeValidationPipe } from './realtime-validation.pipe';

/** Values each field is tried with: valid and invalid for every rule of the rooms DTOs. */
const VALUES: unknown[] = [
  'general',
  '',
  'x'.repeat(64),
  'x'.repeat(65),
  'text',
  'image',
  'video',
  0,
  1,
  -1,
  2.5,
  Number.MAX_SAFE_INTEGER + 2,
  true,
  null,
  {},
  [],
  ['a'],
  { room: 'general' },
];
const FIELDS = [
  'room',
  'content',
  'message_type',
  'media_url',
  'media_type',
  'duration',
  'reply_to',
  'to_user_id',
  'with_user',
  'limit',
  'offset',
  'after_id',
  'extra',
];

/** A small deterministic generator, so that a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function payloads(count: number, seed: number, required: string[]): Array<Record<string, unknown>> {
  const next = random(seed);
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i += 1) {
    const payload: Record<string, unknown> = {};
    for (const field of FIELDS) {
      // Required fields are usually present and valid-looking, so that many payloads pass.
      const presence = required.includes(field) ? 0.95 : 0.3;
      if (next() < presence) {
        payload[field] =
          next() < 0.6 && required.includes(field) ? 'general' : VALUES[Math.floor(next() * VALUES.length)];
      }
    }
    out.push(payload);
  }
  return out;
}

async function throughPipe<T extends object>(dto: Type<T>, payload: unknown): Promise<T | RealtimeError> {
  try {
    return (await createRealtimeValidationPipe().transform(copy(payload), {
      type: 'body',
      metatype: dto,
      data: undefined,
    })) as T;
  } catch (error) {
    if (error instanceof RealtimeError) return error;
    throw error;
  }
}

/** A fresh copy as the codec gives it (JSON.parse; structuredClone would build objects of another realm under jest). */
function copy(payload: unknown): unknown {
  return JSON.parse(JSON.stringify(payload)) as unknown;
}

function isPlainOfPrimitives(payload: unknown): boolean {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return false;
  return Object.values(payload).every((value) => value === null || typeof value !== 'object');
}

describe('compileDtoCheck', () => {
  const cases: Array<[Type<object>, string[]]> = [
    [RoomMessageDto, ['room', 'content']],
    [DirectMessageDto, ['to_user_id', 'content']],
    [JoinRoomDto, ['room']],
    [RoomHistoryDto, ['room']],
    [DmHistoryDto, ['with_user']],
  ];

  it.each(cases)(
    '%p: accepts exactly what ValidationPipe accepts, with the same DTO',
    async (dto, required) => {
      const check = compileDtoCheck(dto);
      expect(check).not.toBeNull();
      let accepted = 0;
      let refused = 0;
      for (const payload of payloads(1500, dto.name.length * 7919, required)) {
        const fast = check!(copy(payload));
        const piped = await throughPipe(dto, payload);
        if (fast !== undefined) {
          // Never accepts what the pipe refuses, and builds the same instance.
          expect(piped).toBeInstanceOf(dto);
          expect(fast).toBeInstanceOf(dto);
          expect(fast).toStrictEqual(piped);
          accepted += 1;
        } else if (isPlainOfPrimitives(payload)) {
          // A plain payload it does not accept is one the pipe refuses (with the error frames' details).
          expect(piped).toBeInstanceOf(RealtimeError);
          refused += 1;
        }
      }
      // The corpus exercises both sides.
      expect(accepted).toBeGreaterThan(50);
      expect(refused).toBeGreaterThan(50);
    },
  );

  it('accepts only a plain true: a validator returning a promise is left to the pipe, which awaits it', async () => {
    class Checked {
      @ValidateBy({ name: 'never', validator: { validate: () => Promise.resolve(false) } })
      name: string;
    }
    const check = compileDtoCheck(Checked);
    expect(check).not.toBeNull();
    expect(check!({ name: 'x' })).toBeUndefined();
    await expect(throughPipe(Checked, { name: 'x' })).resolves.toBeInstanceOf(RealtimeError);
  });

  it('keeps field initializers as the pipe does', async () => {
    class Paged {
      @IsOptional()
      @IsInt()
      @Min(1)
      limit?: number = 50;
    }
    const check = compileDtoCheck(Paged);
    expect(check).not.toBeNull();
    for (const payload of [{}, { limit: 5 }]) {
      const built = check!(copy(payload));
      expect(built).toBeInstanceOf(Paged);
      expect(built).toStrictEqual(await throughPipe(Paged, payload));
    }
  });

  it('leaves every payload that is not a plain object of primitive values to the pipe', () => {
    const check = compileDtoCheck(RoomMessageDto)!;
    expect(check({ room: 'general', content: 'hi' })).toBeInstanceOf(RoomMessageDto);
    expect(check(null)).toBeUndefined();
    expect(check('general')).toBeUndefined();
    expect(check([{ room: 'general', content: 'hi' }])).toBeUndefined();
    expect(check({ room: 'general', content: { text: 'hi' } })).toBeUndefined();
    expect(
      check(Object.assign(Object.create({ polluted: true }) as object, { room: 'r', content: 'c' })),
    ).toBeUndefined();
  });

  it('keeps only the decorated properties, as whitelist does, and ignores an own __proto__ key', () => {
    const check = compileDtoCheck(RoomMessageDto)!;
    const dto = check(JSON.parse('{"room":"general","content":"hi","admin":true,"__proto__":{"x":1}}'));
    expect(dto).toBeInstanceOf(RoomMessageDto);
    expect({ ...dto }).toEqual({ room: 'general', content: 'hi' });
    expect((dto as unknown as { x?: number }).x).toBeUndefined();
  });

  it('refuses to compile a DTO whose rules it does not reproduce', () => {
    class Trimmed {
      @Transform(({ value }: { value: string }) => value.trim())
      @IsString()
      name: string;
    }
    class Child {
      @IsInt()
      n: number;
    }
    class Nested {
      @ValidateNested()
      @TransformType(() => Child)
      child: Child;
    }
    class Each {
      @IsString({ each: true })
      names: string[];
    }
    class Grouped {
      @IsString({ groups: ['admin'] })
      name: string;
    }
    @ValidatorConstraint({ async: true })
    class Later implements ValidatorConstraintInterface {
      validate(): Promise<boolean> {
        return Promise.resolve(true);
      }
    }
    class Async {
      @Validate(Later)
      name: string;
    }
    class Bare {
      name: string;
    }
    // Fields the pipe's whitelist would delete from a new instance.
    class Undecorated {
      @IsString()
      name: string;

      note: string;
    }
    // class-transformer skips a key with an accessor: assigning it could throw or run a setter.
    class WithGetter {
      @IsString()
      get name(): string {
        return 'fixed';
      }
    }
    for (const dto of [Trimmed, Nested, Each, Grouped, Async, Bare, Undecorated, WithGetter]) {
      expect(compileDtoCheck(dto as Type<object>)).toBeNull();
    }
  });
});
