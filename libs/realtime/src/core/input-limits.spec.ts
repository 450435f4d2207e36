// The shape check of inbound payloads: depth and width at the limits and one past them, without
// recursion (a payload nested far deeper than the stack allows is refused, not thrown on), and the
// keys class-transformer cannot take.
import { RealtimeErrorCode } from '../protocol';
import { INPUT_LIMITS, inputShapeError } from './input-limits';

/** `{ a: { a: … leaf } }` with `depth` objects, built without recursion. */
function nested(depth: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

function nestedArrays(depth: number): unknown {
  let value: unknown = 'x';
  for (let level = 0; level < depth; level += 1) value = [value];
  return value;
}

function withKeys(count: number): Record<string, number> {
  const object: Record<string, number> = {};
  for (let index = 0; index < count; index += 1) object[`k${index}`] = index;
  return object;
}

describe('inputShapeError', () => {
  it('passes scalars, null and shallow payloads', () => {
    for (const value of [null, undefined, 0, -1e308, 'text', true, {}, [], { a: [1, { b: 'c' }] }]) {
      expect(inputShapeError(value)).toBeNull();
    }
  });

  it(`passes ${INPUT_LIMITS.maxDepth} levels of objects or arrays and refuses one more`, () => {
    expect(inputShapeError(nested(INPUT_LIMITS.maxDepth))).toBeNull();
    expect(inputShapeError(nestedArrays(INPUT_LIMITS.maxDepth))).toBeNull();
    for (const value of [nested(INPUT_LIMITS.maxDepth + 1), nestedArrays(INPUT_LIMITS.maxDepth + 1)]) {
      const error = inputShapeError(value);
      expect(error?.toPayload()).toEqual({
        code: RealtimeErrorCode.INVALID_FORMAT,
        message: `Payload nested deeper than ${INPUT_LIMITS.maxDepth} levels`,
        details: { max_depth: INPUT_LIMITS.maxDepth },
      });
    }
  });

  it('counts the deepest branch, not the first one', () => {
    const value = { shallow: 1, list: [{}, { deep: nested(INPUT_LIMITS.maxDepth - 1) }] };
    expect(inputShapeError(value)?.code).toBe(RealtimeErrorCode.INVALID_FORMAT);
    expect(inputShapeError({ shallow: 1, list: [{}, nested(INPUT_LIMITS.maxDepth - 2)] })).toBeNull();
  });

  it('refuses 1,000,000 levels without overflowing the stack', () => {
    expect(inputShapeError(nested(1_000_000))?.message).toBe(
      `Payload nested deeper than ${INPUT_LIMITS.maxDepth} levels`,
    );
    // What JSON.parse gives for the same text (the transports check parsed values).
    const text = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(inputShapeError(JSON.parse(text))?.code).toBe(RealtimeErrorCode.INVALID_FORMAT);
  });

  it(`passes ${INPUT_LIMITS.maxKeys} keys or items and refuses one more, at any level`, () => {
    expect(inputShapeError(withKeys(INPUT_LIMITS.maxKeys))).toBeNull();
    expect(inputShapeError(new Array<number>(INPUT_LIMITS.maxKeys).fill(0))).toBeNull();
    expect(inputShapeError({ a: { b: withKeys(INPUT_LIMITS.maxKeys + 1) } })?.toPayload()).toEqual({
      code: RealtimeErrorCode.INVALID_FORMAT,
      message: `Payload has more than ${INPUT_LIMITS.maxKeys} keys in one object`,
      details: { max_keys: INPUT_LIMITS.maxKeys },
    });
    expect(inputShapeError([new Array<number>(INPUT_LIMITS.maxKeys + 1).fill(0)])?.message).toBe(
      `Payload has more than ${INPUT_LIMITS.maxKeys} items in one array`,
    );
  });

  it('refuses a "__proto__" or "constructor" key at any level, and takes "prototype"', () => {
    for (const text of [
      '{"__proto__":{}}',
      '{"a":[{"b":{"__proto__":1}}]}',
      '{"constructor":"x"}',
      '{"a":{"constructor":null}}',
    ]) {
      const key = text.includes('__proto__') ? '__proto__' : 'constructor';
      expect(inputShapeError(JSON.parse(text))?.toPayload()).toEqual({
        code: RealtimeErrorCode.INVALID_FORMAT,
        message: `Payload has a "${key}" key, which is not allowed`,
        details: { key },
      });
    }
    expect(inputShapeError(JSON.parse('{"a":{"prototype":{"b":1}},"constructors":1}'))).toBeNull();
  });

  it('treats binary attachments as leaves, whatever their length', () => {
    const big = Buffer.alloc(INPUT_LIMITS.maxKeys * 10);
    expect(inputShapeError(big)).toBeNull();
    expect(inputShapeError({ file: big, raw: new ArrayBuffer(8), view: new Uint16Array(5000) })).toBeNull();
  });

  it('takes other limits', () => {
    expect(inputShapeError({ a: { b: {} } }, { maxDepth: 2, maxKeys: 10 })?.message).toBe(
      'Payload nested deeper than 2 levels',
    );
    expect(inputShapeError({ a: 1, b: 2, c: 3 }, { maxDepth: 5, maxKeys: 2 })?.message).toBe(
      'Payload has more than 2 keys in one object',
    );
  });
});
