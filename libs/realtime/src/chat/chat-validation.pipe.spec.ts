// ChatValidationPipe against RealtimeValidationPipe: for `message` bodies of every shape (with and
// without a context, plain or nested, keys that class-transformer treats apart) it builds the same
// ChatMessageDto or raises the same RealtimeError; other arguments are the pipe's alone.
import type { ArgumentMetadata } from '@nestjs/common';
import { RealtimeError } from '../core/errors/realtime-error';
import { createRealtimeValidationPipe } from '../core/realtime-validation.pipe';
import { ChatValidationPipe } from './chat-validation.pipe';
import { ChatJoinDto } from './dto/chat-join.dto';
import { ChatMessageDto } from './dto/chat-message.dto';

const BODY: ArgumentMetadata = { type: 'body', metatype: ChatMessageDto, data: undefined };

const VALUES: unknown[] = [
  'hello',
  '',
  'x'.repeat(300),
  0,
  7,
  -1.5,
  true,
  false,
  null,
  [],
  ['a'],
  {},
  { a: 1 },
];
const CONTEXT_KEYS = [
  'roomId',
  'replyTo',
  'thread',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'extra',
  // Keys ValidationPipe strips from nested objects.
  'prototype',
  'constructor',
];
const CONTEXT_VALUES: unknown[] = ['general', '12', 12, true, null, '', ['x'], { nested: 'y' }, 3.25];

/** A small deterministic generator, so that a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function pick<T>(next: () => number, values: T[]): T {
  return values[Math.floor(next() * values.length)]!;
}

/** Bodies as the codec gives them (JSON text parsed), mostly valid-looking so that many pass. */
function bodies(count: number, seed: number): string[] {
  const next = random(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const body: Record<string, unknown> = {};
    if (next() < 0.9) body.message = next() < 0.6 ? 'hello' : pick(next, VALUES);
    if (next() < 0.7) {
      if (next() < 0.8) {
        const context: Record<string, unknown> = {};
        const keys = Math.floor(next() * 4);
        for (let k = 0; k < keys; k += 1) context[pick(next, CONTEXT_KEYS)] = pick(next, CONTEXT_VALUES);
        body.context = context;
      } else {
        body.context = pick(next, VALUES);
      }
    }
    if (next() < 0.2) body.admin = pick(next, VALUES);
    out.push(JSON.stringify(body));
  }
  return out;
}

async function outcome(
  pipe: { transform(value: unknown, metadata: ArgumentMetadata): unknown },
  json: string,
  metadata: ArgumentMetadata = BODY,
): Promise<unknown> {
  try {
    return await pipe.transform(JSON.parse(json), metadata);
  } catch (error) {
    if (error instanceof RealtimeError)
      return { code: error.code, message: error.message, details: error.details };
    throw error;
  }
}

describe('ChatValidationPipe', () => {
  it('gives exactly what RealtimeValidationPipe gives for message bodies', async () => {
    const fast = new ChatValidationPipe();
    const reference = createRealtimeValidationPipe();
    let accepted = 0;
    let refused = 0;
    for (const json of bodies(2000, 4242)) {
      const mine = await outcome(fast, json);
      const theirs = await outcome(reference, json);
      expect(mine).toStrictEqual(theirs);
      if (theirs instanceof ChatMessageDto) accepted += 1;
      else refused += 1;
    }
    // The corpus exercises both sides.
    expect(accepted).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(300);
  });

  it('accepts a message with a plain context without the ValidationPipe, as a copy', async () => {
    const fast = new ChatValidationPipe();
    const spy = jest.spyOn((fast as unknown as { pipe: { transform: () => unknown } }).pipe, 'transform');
    const context = { roomId: 'general', replyTo: '12' };
    const dto = (await fast.transform({ message: 'hi', context, admin: true }, BODY)) as ChatMessageDto;
    expect(dto).toBeInstanceOf(ChatMessageDto);
    expect({ ...dto }).toEqual({ message: 'hi', context });
    expect(dto.context).not.toBe(context);
    expect(spy).not.toHaveBeenCalled();
  });

  it('leaves a nested context to the ValidationPipe, which copies it deeply', async () => {
    const fast = new ChatValidationPipe();
    const spy = jest.spyOn((fast as unknown as { pipe: { transform: () => unknown } }).pipe, 'transform');
    const dto = (await fast.transform(
      { message: 'hi', context: { roomId: 'a', tags: ['x'] } },
      BODY,
    )) as ChatMessageDto;
    expect(dto.context).toEqual({ roomId: 'a', tags: ['x'] });
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('validates other bodies with the ValidationPipe, with its errors', async () => {
    const fast = new ChatValidationPipe();
    const metadata: ArgumentMetadata = { type: 'body', metatype: ChatJoinDto, data: undefined };
    await expect(outcome(fast, '{"roomId":"ok"}', metadata)).resolves.toBeInstanceOf(ChatJoinDto);
    await expect(outcome(fast, '{"roomId":"no way"}', metadata)).resolves.toStrictEqual(
      await outcome(createRealtimeValidationPipe(), '{"roomId":"no way"}', metadata),
    );
  });
});
