// The HTTP body check: a body past the limits is a 400 INVALID_FORMAT with the limit; other arguments
// and bodies within the limits pass untouched.
import { BadRequestException, type ArgumentMetadata } from '@nestjs/common';
import { INPUT_LIMITS } from './input-limits';
import { InputLimitsPipe } from './input-limits.pipe';

const BODY: ArgumentMetadata = { type: 'body', metatype: Object, data: undefined };

function deep(depth: number): unknown {
  return JSON.parse('['.repeat(depth) + ']'.repeat(depth));
}

describe('InputLimitsPipe', () => {
  const pipe = new InputLimitsPipe();

  it('returns a body within the limits as it is', () => {
    const body = { a: deep(INPUT_LIMITS.maxDepth - 1) };
    expect(pipe.transform(body, BODY)).toBe(body);
  });

  it('answers a body nested too deep 400 INVALID_FORMAT with the limit', () => {
    let thrown: unknown;
    try {
      pipe.transform({ a: deep(3000) }, BODY);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BadRequestException);
    expect((thrown as BadRequestException).getResponse()).toEqual({
      statusCode: 400,
      code: 'INVALID_FORMAT',
      message: `Payload nested deeper than ${INPUT_LIMITS.maxDepth} levels`,
      details: { max_depth: INPUT_LIMITS.maxDepth },
    });
  });

  it('leaves other arguments to their own pipes', () => {
    const value = deep(3000);
    expect(pipe.transform(value, { type: 'custom', metatype: Object, data: undefined })).toBe(value);
  });
});
