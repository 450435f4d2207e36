// Property-based fuzzing (fast-check) of the real sample app's three protocols and its HTTP log
// ingestion: random JSON values and shapes, wrong types, binary frames, deep nesting, wide objects,
// huge numbers, unicode edge cases (lone surrogates, U+0000, bidi marks) and prototype keys. Properties:
// the server never crashes and never closes an unrelated connection (well-behaved clients stay
// connected through the whole run and still work at the end); every bad frame is answered with a
// coded error of the seed's list (INTERNAL_ERROR never: that would be an unhandled case), or, for a
// transport-level violation, the documented close; the same connection then works for a valid
// message; and the server writes no error line, whatever it was sent.
//
// Seeded: the seed is in the test names; a failure prints fast-check's report (seed, path,
// counterexample) and the command that replays it. FUZZ_SEED=<seed> replays a whole run,
// FUZZ_PATH=<path> with -t '<property>' replays one counterexample. Budget: each property stops
// after its time limit (about 45 s in all) or its number of runs, whichever comes first.
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'fs';
import { resolve } from 'path';
import type { Server } from 'http';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import WebSocket from 'ws';
import {
  ChatEvent,
  RealtimeErrorCode,
  RoomsInbound,
  RT_SYNC_EVENT,
  StreamInbound,
  StreamPortListener,
} from 'nest-realtime';
import { INPUT_LIMITS } from 'nest-realtime/core/input-limits';
import { CapturingLogger } from './support/capturing-logger';
import { connectIo, signToken, TestWs, type WsFrame } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

const SEED = process.env.FUZZ_SEED === undefined ? Date.now() % 2_147_483_647 : Number(process.env.FUZZ_SEED);
const REPLAY_PATH = process.env.FUZZ_PATH;
/** Longest wait for one answer. */
const WAIT_MS = 5000;
const CODES: ReadonlySet<string> = new Set(Object.values(RealtimeErrorCode));
const APP_ID = 'fuzz-app';

// ---- Values ----

/** Any UTF-16 code unit, lone surrogates included (fast-check's units are whole code points). */
const codeUnitString = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
  maxLength: 40,
});
const unicodeEdges = fc.constantFrom(
  '\uD800',
  '\uDFFF',
  'a\uDC00b\uD83D',
  '\u0000',
  'nul\u0000inside',
  '\u200F\u202Eevil\u202C',
  '\u200E',
  '\uFEFFbom',
  '\u{1F600}\u{1F469}\u200D\u{1F4BB}',
  'e\u0301\u0301\u0301',
  '\uFFFF\uFFFE',
  '\u2028\u2029',
  '',
  ' ',
);
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const strings = fc.oneof(
  fc.string({ maxLength: 30 }),
  codeUnitString,
  unicodeEdges,
  fc.string({ unit: 'binary' }),
);
const numbers = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER - 2,
    2 ** 64,
    1e308,
    -1e308,
    5e-324,
    1e21,
  ),
);
const scalars = fc.oneof(strings, numbers, fc.boolean(), fc.constant(null));
const keys = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  { weight: 1, arbitrary: unicodeEdges },
);

/** An object with exactly these own keys, `__proto__` included (a literal would set the prototype). */
function objectOf(entries: Array<[string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/** Random JSON values of any shape, shallow to a few levels. */
const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalars,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(keys, tie('value')), { maxLength: 5 }).map(objectOf),
  ),
})).value;

/** `{"a":{"a":…}}` or `[[…]]` nested `depth` levels: built as text, and parsed without recursion. */
function deepText(depth: number, arrays: boolean): string {
  return arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);
}
/**
 * Deep values as objects stop at 1,000 levels: socket.io-client, JSON.stringify and fast-check's report
 * recurse on this side. Deeper ones (to 5,000) are spliced into frame and body text.
 */
const deep = fc
  .tuple(fc.integer({ min: INPUT_LIMITS.maxDepth - 2, max: 1000 }), fc.boolean())
  .map(([depth, arrays]) => JSON.parse(deepText(depth, arrays)) as unknown);
const wide = fc
  .integer({ min: INPUT_LIMITS.maxKeys - 2, max: INPUT_LIMITS.maxKeys + 200 })
  .map((count) =>
    objectOf(Array.from({ length: count }, (_, index): [string, unknown] => [`k${index}`, index])),
  );
/** What goes in a field: mostly plausible, often of the wrong type. */
const field = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('general', 'fuzz-room', 'lobby', '1', 'info', 'text') },
  { weight: 4, arbitrary: scalars },
  { weight: 2, arbitrary: json },
  { weight: 1, arbitrary: deep },
);
const anyPayload = fc.oneof(
  { weight: 6, arbitrary: json },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: wide },
);
/** Number literals JSON allows but JavaScript cannot hold exactly, spliced into frame text. */
const hugeNumberText = fc.constantFrom(
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '1e-400',
  '-0',
  '0.00000000000000000000000001',
);

// ---- Shared checks ----

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A coded error of the seed's list, and not INTERNAL_ERROR (an unhandled case). */
function expectCoded(payload: unknown, what: string): void {
  if (!isRecord(payload) || typeof payload.code !== 'string' || typeof payload.message !== 'string') {
    throw new Error(`${what}: not a coded error: ${JSON.stringify(payload)}`);
  }
  if (!CODES.has(payload.code)) throw new Error(`${what}: unknown code ${payload.code}`);
  if (payload.code === RealtimeErrorCode.INTERNAL_ERROR) {
    throw new Error(`${what}: INTERNAL_ERROR (an unhandled case): ${JSON.stringify(payload)}`);
  }
}

/**
 * Runs a property with the file's seed; on failure, throws fast-check's report with the command that
 * replays it.
 */
async function fuzz<Ts extends [unknown, ...unknown[]]>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<Ts>,
  budget: { runs: number; ms: number },
): Promise<fc.RunDetails<Ts>> {
  const details = await fc.check(property, {
    seed: SEED,
    path: REPLAY_PATH,
    numRuns: budget.runs,
    interruptAfterTimeLimit: budget.ms,
  });
  if (details.failed) {
    let report: string;
    try {
      report = fc.defaultReportMessage(details) ?? 'property failed';
    } catch {
      // A counterexample too deep for fast-check's printer: the seed and path still replay it.
      report = `property failed (seed ${details.seed}, path ${details.counterexamplePath ?? '?'}): ${String(details.errorInstance)}`;
    }
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `${name}: ${report}\n\nFailure: ${cause}\n\nReplay this run:    FUZZ_SEED=${details.seed} npx jest test/fuzz.e2e-spec.ts\n` +
        `Replay the failure: FUZZ_SEED=${details.seed} FUZZ_PATH='${details.counterexamplePath ?? ''}' ` +
        `npx jest test/fuzz.e2e-spec.ts -t '${name}'`,
    );
  }
  // A property that could not run at all proves nothing.
  expect(details.numRuns).toBeGreaterThan(10);
  FUZZ_RUNS.push({ property: name, inputs: details.numRuns });
  return details;
}

/** The inputs each property tried, written to reports/fuzz.json for the reliability report. */
const FUZZ_RUNS: Array<{ property: string; inputs: number }> = [];

function writeFuzzReport(): void {
  mkdirSync(resolve('reports'), { recursive: true });
  const inputs = FUZZ_RUNS.reduce((sum, run) => sum + run.inputs, 0);
  writeFileSync(
    resolve('reports/fuzz.json'),
    JSON.stringify({ seed: SEED, inputs, properties: FUZZ_RUNS }, null, 2),
  );
}

// ---- A Socket.IO peer at the packet level ----

/**
 * Speaks engine.io v4 / socket.io v5 over a raw WebSocket, answering pings: it connects the main
 * namespace with a token, then sends whatever it is given. Keeps the event packets it receives.
 */
class RawIoPeer {
  readonly events: unknown[][] = [];
  readonly acks = new Map<number, (args: unknown) => void>();
  closed = false;

  private constructor(readonly socket: WebSocket) {
    socket.on('close', () => {
      this.closed = true;
      for (const resolve of this.acks.values()) resolve(undefined);
      this.acks.clear();
    });
    socket.on('message', (raw, isBinary) => {
      if (isBinary) return;
      const packet = (raw as Buffer).toString('utf8');
      if (packet === '2') socket.send('3');
      else if (packet.startsWith('42')) this.events.push(JSON.parse(packet.slice(2)) as unknown[]);
      else if (packet.startsWith('43')) {
        const match = /^43(\d+)(.*)$/s.exec(packet);
        const id = Number(match?.[1]);
        this.acks.get(id)?.(JSON.parse(match?.[2] ?? 'null'));
        this.acks.delete(id);
      }
    });
  }

  static open(url: string, token: string): Promise<RawIoPeer> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const peer = new RawIoPeer(socket);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('namespace not connected')), WAIT_MS);
      socket.on('message', (raw) => {
        const packet = (raw as Buffer).toString('utf8');
        if (packet.startsWith('0')) socket.send(`40${JSON.stringify({ token })}`);
        else if (packet.startsWith('40')) {
          clearTimeout(timer);
          resolve(peer);
        } else if (packet.startsWith('44')) reject(new Error(`refused: ${packet}`));
      });
      socket.once('error', reject);
    });
  }

  /** Emits `onlineUsers` with an ack id: resolves with the ack, or undefined once closed. */
  probe(id: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe ${id}: no ack within ${WAIT_MS} ms`)), WAIT_MS);
      this.acks.set(id, (args) => {
        clearTimeout(timer);
        resolve(args);
      });
      if (this.closed) this.acks.get(id)?.(undefined);
      else this.socket.send(`42${id}["onlineUsers"]`);
    });
  }

  close(): void {
    this.socket.terminate();
  }
}

// ---- Frames of the raw ws protocols ----

type RawFrame =
  | { kind: 'text'; text: string; mustFail: boolean }
  | { kind: 'binary'; bytes: Uint8Array }
  | { kind: 'notUtf8'; bytes: Uint8Array };

/** Whether a text frame is bad whatever the handler: not JSON, not an object, no or unknown type. */
function structurallyBad(text: string, types: readonly string[]): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return true;
  }
  return !isRecord(parsed) || typeof parsed.type !== 'string' || !types.includes(parsed.type);
}

function rawFrames(types: readonly string[], dataKey: 'data' | 'payload', data: fc.Arbitrary<unknown>) {
  const typeArb = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...types) },
    { weight: 1, arbitrary: strings },
  );
  const envelope = fc
    .record(
      {
        type: fc.oneof({ weight: 8, arbitrary: typeArb }, { weight: 1, arbitrary: json }),
        [dataKey]: data,
        ref: fc.oneof(fc.constantFrom('r-1', 'x.y:z_1'), strings, json),
        extra: json,
      },
      { requiredKeys: [] },
    )
    .chain((frame) =>
      fc
        .array(fc.tuple(fc.constantFrom(...PROTO_KEYS), json), { maxLength: 2 })
        .map((protoEntries) => objectOf([...Object.entries(frame), ...protoEntries])),
    );
  const text = (source: string, forceBad = false): RawFrame => ({
    kind: 'text',
    text: source,
    mustFail: forceBad || structurallyBad(source, types),
  });
  return fc.oneof(
    { weight: 10, arbitrary: envelope.map((frame) => text(JSON.stringify(frame))) },
    { weight: 2, arbitrary: json.map((value) => text(JSON.stringify(value) ?? 'undefined')) },
    { weight: 2, arbitrary: fc.oneof(strings, fc.string({ maxLength: 200 })).map((source) => text(source)) },
    {
      // Deep or wide data in a frame of a known type: refused by the input limits.
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...types),
          fc.integer({ min: INPUT_LIMITS.maxDepth + 1, max: 5000 }),
          fc.boolean(),
        )
        .map(([type, depth, arrays]) =>
          text(`{"type":"${type}","${dataKey}":${deepText(depth, arrays)}}`, true),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...types),
          hugeNumberText,
          fc.constantFrom('limit', 'offset', 'after_id', 'duration', 'levels'),
        )
        .map(([type, number, key]) =>
          text(`{"type":"${type}","${dataKey}":{"${key}":${number},"room":"general"}}`),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): RawFrame => ({ kind: 'binary', bytes })),
    },
    {
      // Not UTF-8 in a text frame: a transport violation, closed by ws with 1007.
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.uint8Array({ maxLength: 16 }),
          fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88]),
        )
        .map(([prefix, bad]): RawFrame => ({ kind: 'notUtf8', bytes: Uint8Array.from([...prefix, ...bad]) })),
    },
  );
}

const ROOMS_TYPES: readonly string[] = Object.values(RoomsInbound);
const roomsData = fc.oneof(
  { weight: 2, arbitrary: anyPayload },
  {
    weight: 5,
    arbitrary: fc.record(
      {
        room: field,
        content: field,
        message_type: fc.oneof(fc.constantFrom('text', 'image', 'audio', 'reaction'), field),
        media_url: field,
        media_type: field,
        duration: field,
        reply_to: field,
        to_user_id: fc.oneof(fc.integer({ min: -2, max: 5 }), field),
        token: fc.oneof(field, fc.constant('not.a.jwt')),
        limit: field,
        offset: field,
        after_id: field,
        messages: fc.array(
          fc.record(
            { type: fc.oneof(fc.constantFrom(...ROOMS_TYPES), field), data: json, ref: field },
            { requiredKeys: [] },
          ),
          { maxLength: 4 },
        ),
      },
      { requiredKeys: [] },
    ),
  },
);

const STREAM_TYPES: readonly string[] = Object.values(StreamInbound);
const streamPayload = fc.oneof(
  { weight: 2, arbitrary: anyPayload },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        token: fc.oneof(field, fc.constant('not.a.jwt')),
        levels: fc.oneof(
          fc.array(fc.oneof(fc.constantFrom('info', 'error'), field), { maxLength: 25 }),
          field,
        ),
        text: field,
      },
      { requiredKeys: [] },
    ),
  },
);

// ---- Socket.IO events ----

/** The client → server events of the chat and the events API (each answers through its ack). */
const IO_EVENTS: readonly string[] = [
  ChatEvent.message,
  ChatEvent.typing,
  ChatEvent.join,
  ChatEvent.leave,
  ChatEvent.onlineUsers,
  ChatEvent.authRefresh,
  RT_SYNC_EVENT,
];
const ioArg = fc.oneof(
  { weight: 4, arbitrary: anyPayload },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        message: fc.oneof(fc.string({ maxLength: 40 }), field),
        context: fc.oneof(fc.record({ roomId: field, replyTo: field }, { requiredKeys: [] }), field),
        roomId: field,
        token: fc.oneof(field, fc.constant('not.a.jwt')),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
);

/** Socket.IO packets at the wire level (engine.io type 4, then the socket.io packet). */
const ioWirePacket = fc
  .oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(...IO_EVENTS), anyPayload)
        .map(([event, data]) => `42${JSON.stringify([event, data])}`),
    },
    { weight: 2, arbitrary: json.map((value) => `42${JSON.stringify(value) ?? ''}`) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('4', '42', '43', '45', '46', '49', '42/', '3', '6', ''), strings)
        .map(([head, tail]) => head + tail),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: INPUT_LIMITS.maxDepth, max: 5000 })
        .map((depth) => `42["message",${deepText(depth, false)}]`),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  )
  // A namespace connect or disconnect is a valid request that changes the session, not a bad packet.
  .filter((packet) => !packet.startsWith('40') && !packet.startsWith('41'));

describe(`Fuzzing the protocols and HTTP endpoints (seed ${SEED})`, () => {
  let sample: RunningSample;
  let streamPort: number;
  let logger: CapturingLogger;
  let connectionsOpened = 0;
  let probeSeq = 0;

  /** Well-behaved clients, connected through the whole run. */
  let ioObserver: Socket;
  let ioObserverDrops = 0;
  let roomsObserver: TestWs;
  const logObservers: TestWs[] = [];

  const streamToken = (sub: string) => signToken({ sub, username: sub, appId: APP_ID });

  async function openWs(url: string): Promise<TestWs> {
    connectionsOpened += 1;
    return TestWs.open(url);
  }

  beforeAll(async () => {
    sample = await startSample({
      overrides: {
        // Thousands of connections from 127.0.0.1 (every wire packet that closes one opens another).
        limits: {
          rateLimit: { perMinute: 1_000_000, perHour: 1_000_000 },
          maxHandshakesPerSecondPerIp: 1_000_000,
          maxConnectionsPerIp: 1_000_000,
        },
        stream: { port: 0, host: '127.0.0.1' },
      },
    });
    streamPort = sample.app.get(StreamPortListener).port ?? 0;
    logger = new CapturingLogger();
    sample.app.useLogger(logger);

    const watcher = await sample.login('fuzz-watcher');
    ioObserver = await connectIo(sample.url, { token: watcher.token });
    ioObserver.on('disconnect', () => {
      ioObserverDrops += 1;
    });
    roomsObserver = await openWs(`ws://127.0.0.1:${sample.port}/ws/chat?token=${watcher.token}`);
    roomsObserver.send({ type: 'join_room', data: { room: 'general' } });
    await roomsObserver.next('join_room_ack');
    for (const url of [
      `ws://127.0.0.1:${sample.port}/ws/logs?token=${streamToken('log-watcher')}`,
      `ws://127.0.0.1:${streamPort}/?token=${streamToken('log-watcher')}`,
    ]) {
      const observer = await openWs(url);
      await observer.next('auth_success');
      logObservers.push(observer);
    }
    connectionsOpened += 1;
  });

  afterAll(async () => {
    writeFuzzReport();
    ioObserver?.close();
    roomsObserver?.close();
    for (const observer of logObservers) observer.close();
    sample.app.useLogger(false);
    await sample.close();
  });

  it('Socket.IO events: every packet answered (a coded error or a result), the socket kept', async () => {
    const { token } = await sample.login('fuzz-io');
    let socket: Socket | null = null;
    await fuzz(
      'Socket.IO events',
      fc.asyncProperty(
        fc.constantFrom(...IO_EVENTS),
        fc.array(ioArg, { maxLength: 3 }),
        async (event, args) => {
          if (socket === null || !socket.connected) {
            connectionsOpened += 1;
            socket = await connectIo(sample.url, { token });
          }
          const errors: unknown[] = [];
          const onError = (payload: unknown) => errors.push(payload);
          socket.on('error', onError);
          try {
            // `typing true/false` is the one valid packet with no answer.
            if (event === ChatEvent.typing && args.length === 1 && typeof args[0] === 'boolean') {
              socket.emit(event, ...args);
            } else {
              const answer: unknown = await socket.timeout(WAIT_MS).emitWithAck(event, ...args);
              if (isRecord(answer) && 'error' in answer) expectCoded(answer.error, `${event} ack`);
            }
            const users: unknown = await socket.timeout(WAIT_MS).emitWithAck('onlineUsers');
            expect(users).toMatchObject({ users: expect.any(Array) as unknown });
            for (const error of errors) expectCoded(error, `${event} error event`);
            expect(socket.connected).toBe(true);
          } finally {
            socket.off('error', onError);
          }
        },
      ),
      { runs: 5000, ms: 9000 },
    );
    const still = socket as Socket | null;
    expect(still?.connected).toBe(true);
    expect(
      await still?.timeout(WAIT_MS).emitWithAck('message', { message: 'io fuzzer still works' }),
    ).toEqual({
      id: expect.any(String) as unknown,
    });
    still?.close();
  }, 30_000);

  it('Socket.IO wire: any packet is handled or closes that connection alone', async () => {
    const { token } = await sample.login('fuzz-io-wire');
    let peer: RawIoPeer | null = null;
    await fuzz(
      'Socket.IO wire',
      fc.asyncProperty(ioWirePacket, async (packet) => {
        if (peer === null || peer.closed) {
          connectionsOpened += 1;
          peer = await RawIoPeer.open(sample.url, token);
        }
        const before = peer.events.length;
        peer.socket.send(packet);
        probeSeq += 1;
        const answer = await peer.probe(1_000_000 + probeSeq);
        for (const [name, payload] of peer.events.slice(before)) {
          if (name === 'error')
            expectCoded(payload, `error event after ${JSON.stringify(packet).slice(0, 80)}`);
        }
        // Either the packet was handled and the connection answers the next one, or it was not a
        // Socket.IO packet and engine.io closed the connection (socket.io's "parse error").
        if (answer === undefined) {
          expect(peer.closed).toBe(true);
        } else {
          expect(answer).toEqual([{ users: expect.any(Array) as unknown }]);
        }
      }),
      { runs: 5000, ms: 6000 },
    );
    (peer as RawIoPeer | null)?.close();
  }, 30_000);

  it.each([
    ['rooms (/ws/chat)', 'rooms'],
    ['log stream (/ws/logs and stream.port)', 'logs'],
  ] as const)(
    'raw ws %s: every bad frame answered with a coded error, the connection kept',
    async (name, protocol) => {
      const rooms = protocol === 'rooms';
      const { token } = await sample.login(`fuzz-${protocol}`);
      const urls = rooms
        ? [`ws://127.0.0.1:${sample.port}/ws/chat?token=${token}`]
        : [
            `ws://127.0.0.1:${sample.port}/ws/logs?token=${streamToken('fuzz-logs')}`,
            `ws://127.0.0.1:${streamPort}/?token=${streamToken('fuzz-logs')}`,
          ];
      const clients: Array<TestWs | null> = urls.map(() => null);
      const open = async (index: number): Promise<TestWs> => {
        const existing = clients[index];
        if (existing && existing.socket.readyState === WebSocket.OPEN) return existing;
        const client = await openWs(urls[index] as string);
        if (!rooms) await client.next('auth_success');
        clients[index] = client;
        return client;
      };
      const types = rooms ? ROOMS_TYPES : STREAM_TYPES;
      const frames = rooms ? rawFrames(types, 'data', roomsData) : rawFrames(types, 'payload', streamPayload);
      /** A valid request whose answer names it: rooms ping with a ref, log stream subscribe with a text. */
      const probe = async (client: TestWs): Promise<void> => {
        probeSeq += 1;
        const marker = `probe-${probeSeq}`;
        if (rooms) {
          client.send({ type: 'ping', ref: marker });
          await client.nextMatching(
            (frame) => frame.type === 'pong' && frame.ref === marker,
            WAIT_MS,
            marker,
          );
        } else {
          client.send({ type: 'subscribe', payload: { text: marker } });
          await client.nextMatching(
            (frame) =>
              frame.type === 'subscribed' && isRecord(frame.payload) && frame.payload.text === marker,
            WAIT_MS,
            marker,
          );
        }
      };
      const errorsIn = (received: WsFrame[]): unknown[] =>
        received.flatMap((frame) => {
          if (frame.type === 'error') return [rooms ? frame.data : frame.payload];
          // The log stream's AUTH_FAILED is the seed's `auth_error { message }`.
          if (frame.type === 'auth_error')
            return [{ code: 'AUTH_FAILED', message: (frame.payload as { message?: unknown }).message }];
          return [];
        });

      await fuzz(
        `raw ws ${name}`,
        fc.asyncProperty(frames, fc.nat({ max: urls.length - 1 }), async (frame, index) => {
          const client = await open(index);
          client.frames.length = 0;
          if (frame.kind === 'notUtf8') {
            client.socket.send(frame.bytes, { binary: false });
            expect((await client.closedWithin(WAIT_MS)).code).toBe(1007);
            return;
          }
          if (frame.kind === 'binary') client.socket.send(frame.bytes, { binary: true });
          else client.send(frame.text);
          await probe(client);
          const errors = errorsIn(client.frames);
          for (const error of errors) expectCoded(error, `answer to ${frame.kind} frame`);
          if (frame.kind === 'binary' || frame.mustFail) {
            expect(errors.length).toBeGreaterThan(0);
          }
          expect(client.socket.readyState).toBe(WebSocket.OPEN);
        }),
        { runs: 5000, ms: rooms ? 10_000 : 8000 },
      );
      for (const client of clients) {
        if (client === null || client.socket.readyState !== WebSocket.OPEN) continue;
        await probe(client);
        client.close();
      }
    },
    30_000,
  );

  it('HTTP POST /apps/:appId/logs: 202, or 400 with INVALID_FORMAT, or 413; never a server error', async () => {
    const token = streamToken('fuzz-http');
    const entry = fc.record(
      {
        level: fc.oneof(fc.constantFrom('info', 'warn'), field),
        message: field,
        metadata: anyPayload,
        timestamp: field,
      },
      { requiredKeys: [] },
    );
    const bodies = fc.oneof(
      { weight: 4, arbitrary: entry.map((value) => JSON.stringify(value)) },
      { weight: 2, arbitrary: fc.array(entry, { maxLength: 5 }).map((value) => JSON.stringify(value)) },
      { weight: 2, arbitrary: anyPayload.map((value) => JSON.stringify(value) ?? 'null') },
      {
        weight: 1,
        arbitrary: hugeNumberText.map((number) => `{"level":"info","message":"n","timestamp":${number}}`),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.integer({ min: INPUT_LIMITS.maxDepth, max: 5000 }), fc.boolean())
          .map(
            ([depth, arrays]) => `{"level":"info","message":"deep","metadata":${deepText(depth, arrays)}}`,
          ),
      },
      { weight: 1, arbitrary: fc.oneof(strings, fc.string({ maxLength: 100 })) },
    );
    const post = (body: string) =>
      request(sample.url)
        .post(`/apps/${APP_ID}/logs`)
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', 'application/json')
        .send(body);
    await fuzz(
      'HTTP POST /apps/:appId/logs',
      fc.asyncProperty(bodies, async (body) => {
        const response = await post(body);
        expect([202, 400, 413]).toContain(response.status);
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = undefined;
        }
        // Bodies that pass the host's JSON parser (objects and arrays) are answered by the library,
        // with a code; the rest are the body parser's 400.
        if (response.status === 400 && (isRecord(parsed) || Array.isArray(parsed))) {
          expect(response.body).toMatchObject({ code: RealtimeErrorCode.INVALID_FORMAT });
        }
        const valid = await post(JSON.stringify({ level: 'info', message: 'after a fuzzed body' }));
        expect(valid.status).toBe(202);
      }),
      { runs: 5000, ms: 8000 },
    );
  }, 30_000);

  it('kept every well-behaved client connected and working, and wrote no error line', async () => {
    expect(ioObserverDrops).toBe(0);
    expect(ioObserver.connected).toBe(true);
    expect(
      await ioObserver.timeout(WAIT_MS).emitWithAck('message', { message: 'observer still here' }),
    ).toEqual({
      id: expect.any(String) as unknown,
    });

    expect(roomsObserver.socket.readyState).toBe(WebSocket.OPEN);
    roomsObserver.send({
      type: 'room_message',
      ref: 'observer',
      data: { room: 'general', content: 'still here' },
    });
    await roomsObserver.nextMatching((frame) => frame.type === 'room_message' && frame.ref === 'observer');

    for (const observer of logObservers) {
      expect(observer.socket.readyState).toBe(WebSocket.OPEN);
      observer.send({ type: 'ping' });
      await observer.next('pong');
    }
    expect((sample.app.getHttpServer() as Server).listening).toBe(true);
    await request(sample.url).get('/health').expect(200);

    // Thousands of bad frames, and not one error line; what is logged at all grows with the
    // connections opened (connect and disconnect lines), not with the frames sent.
    expect(logger.errors()).toEqual([]);
    expect(logger.lines.length).toBeLessThanOrEqual(20 + 4 * connectionsOpened);
  });
});
