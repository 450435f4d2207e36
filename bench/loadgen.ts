// The load generator, run in its own process: N subscribers in one room and one publisher at a fixed
// rate, over raw ws (rooms protocol) or Socket.IO (chat); latency from the send time in each message,
// into an HDR histogram. Prints one JSON line. Loopback only; bounded in connections and time.
// The publisher is open-loop: it sends on its own clock whatever the server answers, and records how
// late its clock ran (sendLagP99Ms) so that a busy generator shows instead of hiding latency.
import { drain, latencyHistogram, markWindow, runAsChild } from './loadgen-common';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import {
  BENCH_ROOM,
  benchContent,
  CHAT_CONTENT_MARK,
  now,
  ROOM_CONTENT_MARK,
  sentAtBetween,
  sentAtOf,
} from './bench-protocol';
import { leanIoMember, leanRoomMember } from './lean-ws';

export interface LoadSpec {
  transport: 'ws' | 'socket.io';
  /** ws://127.0.0.1:PORT/ws/chat or http://127.0.0.1:PORT: the publisher's server, and the members'. */
  url: string;
  /**
   * Servers the members connect to in turn (member i to `memberUrls[i % length]`), e.g. two nodes of
   * one deployment; the publisher stays on `url`. The result then has figures per server (byUrl).
   * @default [url]
   */
  memberUrls?: string[];
  /** One token per connection (subscribers, then the publisher); empty for servers without auth. */
  tokens: string[];
  subscribers: number;
  /** Messages per second from the publisher; 0 opens idle connections only. */
  rate: number;
  bytes: number;
  warmupSec: number;
  durationSec: number;
  /** Publisher clock period; smaller spreads the load more evenly. @default 5 */
  tickMs?: number;
  /**
   * The publisher gives each room_message a request id (`ref`), as the SDK does: the rooms gateway
   * then writes the publisher's own copy apart, with the id. Subscribers' copies, the only ones
   * counted, are the same either way. ws only. @default false
   */
  ref?: boolean;
  /**
   * Members are lean clients (bench/lean-ws.ts) instead of `ws` / socket.io-client: for the capacity
   * ramps, where the generator must receive faster than the server sends. The publisher is unchanged.
   * @default false
   */
  lean?: boolean;
}

export interface LoadResult {
  published: number;
  deliveries: number;
  expected: number;
  seconds: number;
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** How late the publisher's clock ran behind its schedule (p99, ms): high means a busy generator. */
  sendLagP99Ms: number;
  loadgenCpuPercent: number;
  /** The generator's own CPU (user + system) over the measured window, in microseconds. */
  loadgenCpuMicros: number;
  /** With `memberUrls`: the members of each server, in the order given, and what they received. */
  byUrl?: MembersResult[];
}

export interface MembersResult {
  url: string;
  members: number;
  deliveries: number;
  p50Ms: number;
  p99Ms: number;
}

const MAX_CONNECTIONS = 20_000;
const MAX_SECONDS = 120;

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') {
    throw new Error(`loopback targets only (got ${host})`);
  }
}

interface Conn {
  send(content: string): void;
  close(): void;
}

/** A lean member (see LoadSpec.lean) of the rooms protocol or of the chat. */
async function openLean(
  spec: LoadSpec,
  url: string,
  token: string | undefined,
  onSentAt: (sentAt: number) => void,
): Promise<Conn> {
  const port = Number(new URL(url).port);
  const mark = spec.transport === 'ws' ? ROOM_CONTENT_MARK : CHAT_CONTENT_MARK;
  const onText = (buffer: Buffer, start: number, end: number): void => {
    const sentAt = sentAtBetween(buffer, start, end, mark);
    if (!Number.isNaN(sentAt)) onSentAt(sentAt);
  };
  const member = await (spec.transport === 'ws'
    ? leanRoomMember(port, token, onText)
    : leanIoMember(port, token, onText));
  return {
    send: () => {
      throw new Error('lean members do not publish');
    },
    close: () => member.close(),
  };
}

async function openWs(
  spec: LoadSpec,
  url: string,
  token: string | undefined,
  onSentAt: (sentAt: number) => void,
  join: boolean,
): Promise<Conn> {
  // The frames are ASCII JSON from a known server: validating UTF-8 would only cost the generator.
  const socket = new WebSocket(token ? `${url}?token=${token}` : url, { skipUTF8Validation: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const joined = new Promise<void>((resolve) => {
    socket.on('message', (raw) => {
      const frame = raw as Buffer;
      const sentAt = sentAtBetween(frame, 0, frame.length, ROOM_CONTENT_MARK);
      if (!Number.isNaN(sentAt)) onSentAt(sentAt);
      else if (frame.includes('"join_room_ack"')) resolve();
    });
  });
  if (join) {
    socket.send(JSON.stringify({ type: 'join_room', data: { room: BENCH_ROOM } }));
    await joined;
  }
  let refs = 0;
  return {
    send: (content) => {
      const frame = { type: 'room_message', data: { room: BENCH_ROOM, content, message_type: 'text' } };
      socket.send(JSON.stringify(spec.ref === true ? { ...frame, ref: `p${(refs += 1)}` } : frame));
    },
    close: () => socket.terminate(),
  };
}

async function openIo(
  spec: LoadSpec,
  url: string,
  token: string | undefined,
  onSentAt: (sentAt: number) => void,
  join: boolean,
): Promise<Conn> {
  const socket: Socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: token ? { token } : {},
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  socket.on('message', (message: { message: string }) => onSentAt(sentAtOf(message.message)));
  if (join) await socket.timeout(30_000).emitWithAck('join', { roomId: BENCH_ROOM });
  return {
    send: (content) => socket.emit('message', { message: content, context: { roomId: BENCH_ROOM } }),
    close: () => socket.close(),
  };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  assertLoopback(spec.url);
  const memberUrls = spec.memberUrls ?? [spec.url];
  if (memberUrls.length === 0) throw new Error('memberUrls is empty');
  memberUrls.forEach(assertLoopback);
  if (spec.subscribers + 1 > MAX_CONNECTIONS) throw new Error(`at most ${MAX_CONNECTIONS - 1} subscribers`);
  if (spec.warmupSec + spec.durationSec > MAX_SECONDS) throw new Error(`at most ${MAX_SECONDS} s`);
  const histogram = latencyHistogram();
  let measuring = false;
  let measuredFrom = Number.POSITIVE_INFINITY;
  let deliveries = 0;
  // With memberUrls, one histogram per members' server beside the overall one.
  const perServer = spec.memberUrls !== undefined;
  const groups = memberUrls.map((url) => ({
    url,
    members: 0,
    deliveries: 0,
    histogram: perServer ? latencyHistogram() : null,
  }));
  const recorder =
    (group: (typeof groups)[number]) =>
    (sentAt: number): void => {
      // Only messages published inside the measured window count.
      if (!measuring || sentAt < measuredFrom) return;
      const micros = Math.max(1, Math.round((now() - sentAt) * 1000));
      deliveries += 1;
      histogram.recordValue(micros);
      if (group.histogram) {
        group.deliveries += 1;
        group.histogram.recordValue(micros);
      }
    };
  const onSentAt = groups.map(recorder);
  const open = spec.transport === 'ws' ? openWs : openIo;
  const conns: Conn[] = [];
  // Connect in slices: a burst of thousands of handshakes at once only measures the accept queue.
  for (let i = 0; i < spec.subscribers; i += 100) {
    const slice = Array.from({ length: Math.min(100, spec.subscribers - i) }, (_, k) => {
      const member = i + k;
      const group = member % groups.length;
      groups[group]!.members += 1;
      const url = memberUrls[group]!;
      return spec.lean === true && spec.rate > 0
        ? openLean(spec, url, spec.tokens[member], onSentAt[group]!)
        : open(spec, url, spec.tokens[member], onSentAt[group]!, spec.rate > 0);
    });
    conns.push(...(await Promise.all(slice)));
  }
  if (spec.rate === 0) {
    // Idle connections: hold them until told to stop.
    process.send?.({ kind: 'connected', phase: 'start', count: conns.length });
    await new Promise<void>((resolve) => process.once('message', () => resolve()));
    conns.forEach((conn) => conn.close());
    return {
      published: 0,
      deliveries: 0,
      expected: 0,
      seconds: 0,
      deliveriesPerSec: 0,
      p50Ms: 0,
      p99Ms: 0,
      maxMs: 0,
      sendLagP99Ms: 0,
      loadgenCpuPercent: 0,
      loadgenCpuMicros: 0,
    };
  }
  const publisher = await open(spec, spec.url, spec.tokens[spec.subscribers], () => undefined, true);
  let published = 0;
  const tickMs = spec.tickMs ?? 5;
  const lag = latencyHistogram();
  // Message k is due at start + k / rate; each tick sends every message due by now.
  const scheduleStart = now();
  let scheduled = 0;
  const timer = setInterval(() => {
    const at = now();
    const due = Math.floor(((at - scheduleStart) * spec.rate) / 1000);
    for (; scheduled < due; scheduled += 1) {
      const sentAt = now();
      publisher.send(benchContent(sentAt, spec.bytes));
      if (measuring && sentAt >= measuredFrom) {
        published += 1;
        const dueAt = scheduleStart + ((scheduled + 1) * 1000) / spec.rate;
        lag.recordValue(Math.max(1, Math.round((sentAt - dueAt) * 1000)));
      }
    }
  }, tickMs);
  await new Promise((resolve) => setTimeout(resolve, spec.warmupSec * 1000));
  const cpuStart = process.cpuUsage();
  const started = now();
  measuredFrom = started;
  measuring = true;
  // The orchestrator reads the server's CPU at both ends of the measured window.
  void markWindow('start');
  await new Promise((resolve) => setTimeout(resolve, spec.durationSec * 1000));
  clearInterval(timer);
  // Let the messages in flight arrive (bounded).
  const expected = published * spec.subscribers;
  await drain(() => deliveries, expected);
  const seconds = (now() - started) / 1000;
  measuring = false;
  const cpu = process.cpuUsage(cpuStart);
  await markWindow('end');
  publisher.close();
  conns.forEach((conn) => conn.close());
  return {
    published,
    deliveries,
    expected,
    seconds,
    deliveriesPerSec: deliveries / seconds,
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
    maxMs: histogram.maxValue / 1000,
    sendLagP99Ms: lag.getValueAtPercentile(99) / 1000,
    loadgenCpuPercent: ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100,
    loadgenCpuMicros: cpu.user + cpu.system,
    ...(perServer
      ? {
          byUrl: groups.map(({ url, members, deliveries: received, histogram: h }) => ({
            url,
            members,
            deliveries: received,
            p50Ms: (h?.getValueAtPercentile(50) ?? 0) / 1000,
            p99Ms: (h?.getValueAtPercentile(99) ?? 0) / 1000,
          })),
        }
      : {}),
  };
}

// The orchestrator writes the spec to a file and passes its path.
if (require.main === module) runAsChild(runLoad);
