// The shape every inbound payload must have before anything else reads it: at most INPUT_LIMITS.maxDepth
// levels of nesting, INPUT_LIMITS.maxKeys keys (or items) in one object (or array), and no
// `__proto__` or `constructor` key. Checked on every transport where parsed data enters (raw ws
// frames, Socket.IO event packets, HTTP bodies), before validation: class-transformer recurses, so a
// payload nested a few thousand levels deep overflows the stack in it (RangeError), and it throws a
// TypeError on any nested object with a `constructor` key; both were answered INTERNAL_ERROR and
// logged with their stack per packet. The walk is iterative, so the check itself cannot overflow.
import { RealtimeError } from './errors/realtime-error';

export interface InputLimits {
  /** Levels of nesting of a payload: a scalar is 0, `{}` and `[]` are 1, `{ "a": [] }` is 2. */
  maxDepth: number;
  /** Keys of one object, or items of one array. */
  maxKeys: number;
}

/**
 * The limits. No protocol of the library nests deeper than 4 levels (a chat message's `context`, a
 * batch's inner message), and free-form JSON (log metadata, a host's payloads) rarely passes 10;
 * 32 leaves room for both while staying far below what the recursive validators survive (about
 * 2,000). 1,000 keys is more than any payload of the protocols holds, yet keeps validation error
 * lists (one entry per refused key) and per-key work bounded well under the 1 MB frame limit.
 */
export const INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({ maxDepth: 32, maxKeys: 1000 });

/**
 * Keys no payload may hold: `__proto__` is the prototype-pollution key of every JSON merge, and a
 * nested `constructor` key makes class-transformer throw (`{ "context": { "constructor": 1 } }`).
 */
function isForbiddenKey(key: string): boolean {
  return key === '__proto__' || key === 'constructor';
}

/** Typed arrays, Buffers and ArrayBuffers (Socket.IO binary attachments) are leaves. */
function isBinary(value: object): boolean {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

/**
 * The RealtimeError(INVALID_FORMAT) a payload deserves for its shape, or null when it is within the
 * limits and holds no forbidden key. Allocates nothing for a scalar; for an object, two small stacks of the containers still to
 * visit (never more than depth × keys entries, since an over-wide container stops the walk).
 */
export function inputShapeError(value: unknown, limits: InputLimits = INPUT_LIMITS): RealtimeError | null {
  if (typeof value !== 'object' || value === null || isBinary(value)) return null;
  const { maxDepth, maxKeys } = limits;
  const pending: object[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const node = pending.pop() as object;
    // Children are containers one level down: refused before they are queued.
    const childDepth = (depths.pop() as number) + 1;
    if (Array.isArray(node)) {
      if (node.length > maxKeys) return tooWide(maxKeys, 'items in one array');
      for (let index = 0; index < node.length; index += 1) {
        const child: unknown = node[index];
        if (typeof child !== 'object' || child === null || isBinary(child)) continue;
        if (childDepth > maxDepth) return tooDeep(maxDepth);
        pending.push(child);
        depths.push(childDepth);
      }
      continue;
    }
    let keys = 0;
    // for…in, not Object.keys: no array per object. JSON gives plain objects with no inherited
    // enumerable keys, so it walks own keys only.
    for (const key in node) {
      keys += 1;
      if (keys > maxKeys) return tooWide(maxKeys, 'keys in one object');
      if (isForbiddenKey(key)) return forbiddenKey(key);
      const child: unknown = (node as Record<string, unknown>)[key];
      if (typeof child !== 'object' || child === null || isBinary(child)) continue;
      if (childDepth > maxDepth) return tooDeep(maxDepth);
      pending.push(child);
      depths.push(childDepth);
    }
  }
  return null;
}

function tooDeep(maxDepth: number): RealtimeError {
  return RealtimeError.invalidFormat(`Payload nested deeper than ${maxDepth} levels`, {
    max_depth: maxDepth,
  });
}

function forbiddenKey(key: string): RealtimeError {
  return RealtimeError.invalidFormat(`Payload has a "${key}" key, which is not allowed`, { key });
}

function tooWide(maxKeys: number, what: string): RealtimeError {
  return RealtimeError.invalidFormat(`Payload has more than ${maxKeys} ${what}`, { max_keys: maxKeys });
}
