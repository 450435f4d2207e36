// The `connections` group: as many authenticated connections as one server process can hold (the
// descriptor limit here is 20,000 per process), each joined to one room, against the bare server
// with the same JWT check holding the same count: handshakes per second, heap and RSS per connection,
// and a 200-byte broadcast to all of them once a second (every delivery, latency, CPU per delivery).
// The connections come from several generator processes (bench/conn-loadgen.ts) and from many
// loopback source addresses, so that the library's default per-address limits apply and refuse none.
import * as hdr from 'hdr-histogram-js';
import type { ConnCommand, ConnReply, ConnResult, ConnSpec } from '../conn-loadgen';
import { latencyHistogram } from '../loadgen-common';
import {
  cpuBetween,
  interleavedRounds,
  ratioSummary,
  ServerProcess,
  startGenerator,
  type Generator,
  type RatioSummary,
} from '../runner';
import type { ServerUsage } from '../bench-protocol';
import { TARGETS, tokens, urlFor } from '../targets';
import type { ScenarioContext } from './fanout';

export interface ConnectionsPlan {
  /** Members of the room; the publisher is one connection more. */
  connections: number;
  /** Distinct users behind the connections (connection k belongs to user k mod users). */
  users: number;
  /** Generator processes, each holding a contiguous slice of the connections. */
  generators: number;
  /** Handshakes (then joins) in flight per generator. */
  concurrency: number;
  /** Connections per loopback source address, under the default 100 handshakes/s per address. */
  perAddress: number;
  /** Broadcasts before the measured window (not counted). */
  warmupMessages: number;
  /** Broadcasts in the measured window, `intervalMs` apart. */
  messages: number;
  intervalMs: number;
  /** Characters of each broadcast's content. */
  bytes: number;
}

/**
 * 19,000 connections: one server process may hold 20,000 descriptors, and the sample app keeps some
 * for itself (its database, the listening socket). `BENCH_CONNECTIONS` gives another count, for
 * trials on a smaller machine; the report says which count ran.
 */
export function connectionsPlan(smoke: boolean, env: NodeJS.ProcessEnv = process.env): ConnectionsPlan {
  const asked = env.BENCH_CONNECTIONS === undefined ? undefined : Number(env.BENCH_CONNECTIONS);
  if (asked !== undefined && !(Number.isInteger(asked) && asked >= 100 && asked <= 19_000)) {
    throw new Error(
      `BENCH_CONNECTIONS must be a whole number from 100 to 19000 (got ${env.BENCH_CONNECTIONS})`,
    );
  }
  const connections = asked ?? (smoke ? 300 : 19_000);
  return {
    connections,
    // The connections of 100 users, as in the idle group: each user's first connection is announced
    // to the room (raw ws `user_connected`) or to every socket (Socket.IO `userStatus`), so 19,000
    // distinct users would make the connect phase a presence storm of 180 million notices (n²/2).
    users: 100,
    // At most 5,000 connections per generator process (its own 20,000-descriptor limit, with margin).
    generators: Math.max(2, Math.ceil(connections / 4_800)),
    concurrency: 50,
    perAddress: 95,
    warmupMessages: smoke ? 1 : 2,
    messages: smoke ? 3 : 30,
    intervalMs: smoke ? 500 : 1000,
    bytes: 200,
  };
}

/** The i-th loopback source address: 127.0.1.1, …, 127.0.1.254, 127.0.2.1, … */
export function loopbackAddress(i: number): string {
  return `127.0.${1 + Math.floor(i / 254)}.${1 + (i % 254)}`;
}

export interface ConnectionsSide {
  target: string;
  /** Connections the server held after the joins (its own count): the members and the publisher. */
  connections: number;
  connect: {
    seconds: number;
    /** Connections established (token verified) per second, every generator together. */
    handshakesPerSec: number;
    serverCpuMicrosPerHandshake: number;
    /** The generators' CPU over the connect phase, in % of their one core. */
    generatorCpuPercent: number;
  };
  joinSeconds: number;
  memory: {
    /** Heap and RSS after forced GCs, on the fresh server and with every connection joined. */
    heapBefore: number;
    rssBefore: number;
    heapAfter: number;
    rssAfter: number;
    heapPerConnection: number;
    rssPerConnection: number;
  };
  broadcast: {
    published: number;
    expected: number;
    deliveries: number;
    seconds: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    serverCpuMicrosPerDelivery: number;
    serverUserMicrosPerDelivery: number;
    serverSystemMicrosPerDelivery: number;
    generatorCpuMicrosPerDelivery: number;
  };
}

export interface ConnectionsComparison {
  transport: 'ws' | 'socket.io';
  ours: string;
  baseline: string;
  plan: ConnectionsPlan;
  /** Loopback source addresses the connections came from. */
  addresses: number;
  rounds: Array<{ ours: ConnectionsSide; baseline: ConnectionsSide }>;
  /** Ratios ours / baseline, medians of per-round ratios. */
  heapRatio: RatioSummary;
  rssRatio: RatioSummary;
  handshakeRatio: RatioSummary;
  cpuPerDeliveryRatio: RatioSummary;
  p99Ratio: RatioSummary;
  /** Rounds that failed (a refused handshake, a missing delivery…), left out of the ratios. */
  failures: string[];
}

/** How long the orchestrator waits for one step of the generators, or for deliveries to arrive. */
const STEP_TIMEOUT_MS = 200_000;
/**
 * Deliveries late by seconds are late, not missing: on a loaded 2-core machine a broadcast to 19,000
 * Socket.IO sockets ran behind by up to 8 s.
 */
const DRAIN_TIMEOUT_MS = 30_000;

type Gen = Generator<ConnResult>;
type ReplyOf<K extends ConnReply['kind']> = Extract<ConnReply, { kind: K }>;

/** Resolves with the generator's next reply of kind `kind`; rejects if it exits first or takes too long. */
function replyOf<K extends ConnReply['kind']>(gen: Gen, kind: K): Promise<ReplyOf<K>> {
  return new Promise<ReplyOf<K>>((resolve, reject) => {
    const timer = setTimeout(() => {
      gen.child.off('message', onMessage);
      reject(new Error(`no ${kind} from a generator within ${STEP_TIMEOUT_MS / 1000} s`));
    }, STEP_TIMEOUT_MS);
    const onMessage = (reply: ConnReply): void => {
      if (reply.kind !== kind) return;
      clearTimeout(timer);
      gen.child.off('message', onMessage);
      resolve(reply as ReplyOf<K>);
    };
    gen.child.on('message', onMessage);
    gen.result.catch((error: unknown) => {
      clearTimeout(timer);
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });
}

/** Sends `command` and resolves with the generator's reply of kind `kind`. */
function ask<K extends ConnReply['kind']>(gen: Gen, command: ConnCommand, kind: K): Promise<ReplyOf<K>> {
  const reply = replyOf(gen, kind);
  gen.child.send(command);
  return reply;
}

/** Any problem a generator reported ends the round, with the generator's own words. */
function assertNoProblems(step: string, replies: Array<{ problems: string[] }>): void {
  const problems = replies.flatMap((r) => r.problems);
  if (problems.length) throw new Error(`${step}: ${problems.join('; ')}`);
}

/** The connections' specs: contiguous slices of tokens and source addresses; the publisher in the first. */
function specs(transport: ConnSpec['transport'], url: string, plan: ConnectionsPlan): ConnSpec[] {
  const all = tokens(plan.connections + 1, {}, plan.users, true);
  const addresses = Math.ceil((plan.connections + 1) / plan.perAddress);
  const slice = Math.ceil(plan.connections / plan.generators);
  if (slice < plan.users) throw new Error('every slice holds a connection of every user (see teardown)');
  return Array.from({ length: plan.generators }, (_, g) => {
    const from = g * slice;
    const to = Math.min(plan.connections, from + slice);
    const indices = Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
    return {
      transport,
      url,
      tokens: indices.map((k) => all[k]!),
      localAddresses: indices.map((k) => loopbackAddress(k % addresses)),
      concurrency: plan.concurrency,
      bytes: plan.bytes,
      ...(g === 0
        ? {
            publisher: {
              token: all[plan.connections]!,
              localAddress: loopbackAddress(plan.connections % addresses),
            },
          }
        : {}),
    };
  });
}

/** Polls the generators until their summed count reaches `expected`, or the drain times out; returns it. */
async function waitForDeliveries(
  gens: Gen[],
  pick: (reply: ReplyOf<'count'>) => number,
  expected: number,
  what: string,
): Promise<number> {
  const until = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const counts = await Promise.all(gens.map((g) => ask(g, { kind: 'count' }, 'count')));
    assertNoProblems(what, counts);
    const total = counts.reduce((sum, c) => sum + pick(c), 0);
    if (total >= expected || Date.now() > until) return total;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the server holds at most `count` connections (bounded): closes are processed in order. */
async function waitForServerCount(server: ServerProcess, count: number): Promise<void> {
  const until = Date.now() + 60_000;
  while ((await server.usage(false)).connections > count && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** One side of a round: a fresh server, the connections, the broadcast, the teardown. */
async function connectionsSide(targetKey: string, plan: ConnectionsPlan): Promise<ConnectionsSide> {
  const target = TARGETS[targetKey]!;
  const server = await ServerProcess.start(target.server, undefined, { BENCH_DEFAULT_ADDRESS_LIMITS: '1' });
  const gens: Gen[] = [];
  try {
    const before = await server.usage(true);
    const slices = specs(target.transport, urlFor(target, server.port), plan);
    for (const spec of slices) {
      const gen = startGenerator<ConnSpec, ConnResult>('conn-loadgen', spec);
      gens.push(gen);
      await replyOf(gen, 'ready');
    }
    const total = plan.connections + 1;
    // Connect: every generator at once; the rate is over the wall time of the whole phase.
    const cpuFrom = await server.usage(false);
    const started = performance.now();
    const connected = await Promise.all(gens.map((g) => ask(g, { kind: 'connect' }, 'connected')));
    const connectSeconds = (performance.now() - started) / 1000;
    const cpuConnected = await server.usage(false);
    assertNoProblems('connect', connected);
    const joinStarted = performance.now();
    const joined = await Promise.all(gens.map((g) => ask(g, { kind: 'join' }, 'joined')));
    const joinSeconds = (performance.now() - joinStarted) / 1000;
    assertNoProblems('join', joined);
    const after = await server.usage(true);
    const held = after.connections - before.connections;
    if (held !== total) throw new Error(`the server holds ${held} connections, ${total} were opened`);
    const [publisher] = gens as [Gen];
    // Warm-up broadcasts, all delivered before the window opens.
    await ask(
      publisher,
      { kind: 'publish', count: plan.warmupMessages, intervalMs: plan.intervalMs },
      'published',
    );
    const warm = plan.warmupMessages * plan.connections;
    const warmed = await waitForDeliveries(gens, (c) => c.received, warm, 'warm-up');
    if (warmed !== warm) throw new Error(`warm-up: ${warmed} of ${warm} deliveries arrived`);
    await Promise.all(gens.map((g) => ask(g, { kind: 'measure' }, 'measuring')));
    const windowStart = await server.usage(false);
    const windowStarted = performance.now();
    await ask(publisher, { kind: 'publish', count: plan.messages, intervalMs: plan.intervalMs }, 'published');
    const expected = plan.messages * plan.connections;
    await waitForDeliveries(gens, (c) => c.measured, expected, 'broadcast');
    const windowEnd = await server.usage(false);
    const windowSeconds = (performance.now() - windowStarted) / 1000;
    const reports = await Promise.all(gens.map((g) => ask(g, { kind: 'report' }, 'report')));
    assertNoProblems('broadcast', reports);
    const deliveries = reports.reduce((sum, r) => sum + r.deliveries, 0);
    if (deliveries !== expected) {
      throw new Error(
        `broadcast: ${deliveries} of ${expected} deliveries arrived within ${DRAIN_TIMEOUT_MS / 1000} s`,
      );
    }
    const histogram = latencyHistogram();
    for (const r of reports) histogram.add(hdr.decodeFromCompressedBase64(r.histogram));
    const cpu = cpuBetween(windowStart, windowEnd);
    const side: ConnectionsSide = {
      target: targetKey,
      connections: held,
      connect: {
        seconds: connectSeconds,
        handshakesPerSec: total / connectSeconds,
        serverCpuMicrosPerHandshake: cpuBetween(cpuFrom, cpuConnected).cpuMicros / total,
        generatorCpuPercent:
          (connected.reduce((sum, c) => sum + c.cpuMicros, 0) / (connectSeconds * 1e6)) * 100,
      },
      joinSeconds,
      memory: memoryPerConnection(before, after, held),
      broadcast: {
        published: plan.messages,
        expected,
        deliveries,
        seconds: windowSeconds,
        p50Ms: histogram.getValueAtPercentile(50) / 1000,
        p99Ms: histogram.getValueAtPercentile(99) / 1000,
        maxMs: histogram.maxValue / 1000,
        serverCpuMicrosPerDelivery: cpu.cpuMicros / deliveries,
        serverUserMicrosPerDelivery: cpu.cpuUserMicros / deliveries,
        serverSystemMicrosPerDelivery: cpu.cpuSystemMicros / deliveries,
        generatorCpuMicrosPerDelivery: reports.reduce((sum, r) => sum + r.cpuMicros, 0) / deliveries,
      },
    };
    await teardown(
      server,
      gens,
      slices.map((spec) => spec.tokens.length + (spec.publisher ? 1 : 0)),
      before.connections,
    );
    return side;
  } finally {
    for (const gen of gens) if (gen.child.exitCode === null) gen.child.kill('SIGKILL');
    await server.stop();
  }
}

function memoryPerConnection(
  before: ServerUsage,
  after: ServerUsage,
  held: number,
): ConnectionsSide['memory'] {
  return {
    heapBefore: before.heapUsed,
    rssBefore: before.rss,
    heapAfter: after.heapUsed,
    rssAfter: after.rss,
    heapPerConnection: (after.heapUsed - before.heapUsed) / held,
    rssPerConnection: (after.rss - before.rss) / held,
  };
}

/**
 * Closes the generators from the last to the first, each once the server has processed the closes of
 * the one before: the first generator holds every user's first connections, so no user goes offline
 * before the last few hundred connections (each last connection of a user is announced to the room,
 * or on Socket.IO to every socket). A teardown in any order could announce 100 users to thousands.
 */
async function teardown(
  server: ServerProcess,
  gens: Gen[],
  sizes: number[],
  baseline: number,
): Promise<void> {
  for (let g = gens.length - 1; g >= 0; g -= 1) {
    const gen = gens[g]!;
    const command: ConnCommand = { kind: 'close' };
    gen.child.send(command);
    await gen.result;
    // What the generators before this one still hold.
    await waitForServerCount(server, baseline + sizes.slice(0, g).reduce((sum, n) => sum + n, 0));
  }
}

const summary = (name: string, s: ConnectionsSide): string =>
  `${name} ${s.connections} connections, ${s.connect.handshakesPerSec.toFixed(0)} handshakes/s (generators ${s.connect.generatorCpuPercent.toFixed(0)} %), heap ${(s.memory.heapPerConnection / 1024).toFixed(1)} KB / RSS ${(s.memory.rssPerConnection / 1024).toFixed(1)} KB per connection, broadcast ${s.broadcast.deliveries}/${s.broadcast.expected} p99 ${s.broadcast.p99Ms.toFixed(1)} ms ${s.broadcast.serverCpuMicrosPerDelivery.toFixed(2)} µs/delivery`;

/** The transport's gateway against its bare server with the JWT check, in interleaved rounds. */
async function compareConnections(
  transport: ConnSpec['transport'],
  ours: string,
  baseline: string,
  plan: ConnectionsPlan,
  rounds: number,
): Promise<ConnectionsComparison> {
  const label = `connections (${transport}, ${plan.connections})`;
  const measured = await interleavedRounds(
    rounds,
    [
      ['baseline', () => connectionsSide(baseline, plan)],
      ['ours', () => connectionsSide(ours, plan)],
    ] as const,
    (round, r) =>
      console.error(
        `[bench] ${label} round ${round + 1}: ${summary(ours, r.ours)} vs ${summary(baseline, r.baseline)}`,
      ),
    (round, error) => console.error(`[bench] ${label} round ${round + 1} FAILED:`, error),
  );
  const pairs = measured.rounds.map((r) => ({ ours: r.ours, baseline: r.baseline }));
  const ratio = (pick: (s: ConnectionsSide) => number): RatioSummary =>
    ratioSummary(pairs, (p) => pick(p.ours) / pick(p.baseline));
  return {
    transport,
    ours,
    baseline,
    plan,
    addresses: Math.ceil((plan.connections + 1) / plan.perAddress),
    rounds: pairs,
    heapRatio: ratio((s) => s.memory.heapPerConnection),
    rssRatio: ratio((s) => s.memory.rssPerConnection),
    handshakeRatio: ratio((s) => s.connect.handshakesPerSec),
    cpuPerDeliveryRatio: ratio((s) => s.broadcast.serverCpuMicrosPerDelivery),
    p99Ratio: ratio((s) => s.broadcast.p99Ms),
    failures: measured.failures,
  };
}

/** Interleaved rounds of each transport: 2 (1 in smoke runs), or `--rounds`. */
export function connectionsRounds(context: ScenarioContext): number {
  return context.rounds ?? (context.smoke ? 1 : 2);
}

/** The rooms gateway against bare ws, then the chat gateway against bare Socket.IO, both with the JWT check. */
export async function runConnections(context: ScenarioContext): Promise<ConnectionsComparison[]> {
  const plan = connectionsPlan(context.smoke);
  const rounds = connectionsRounds(context);
  return [
    await compareConnections('ws', 'rooms', 'bareWsAuth', plan, rounds),
    await compareConnections('socket.io', 'chat', 'bareIoAuth', plan, rounds),
  ];
}
