// The log stream load generator, run in its own process: N subscribers of one app on the stream's
// ws endpoint, and producers posting batches of entries over HTTP (keep-alive, a fixed number of
// requests in flight: closed loop, so the server sets the pace). Each entry's message carries its
// send time; delivery latency goes into an HDR histogram. Prints one JSON line. Loopback only.
import { drain, latencyHistogram, markWindow, runAsChild } from './loadgen-common';
import { Agent, request } from 'http';
import WebSocket from 'ws';
import { now } from './bench-protocol';

export interface LogsLoadSpec {
  /** http://127.0.0.1:PORT */
  url: string;
  appId: string;
  /** Token of the producer (appId claim = appId). */
  producerToken: string;
  /** One token per subscriber (appId claim = appId). */
  subscriberTokens: string[];
  /** HTTP requests in flight at any time. */
  concurrency: number;
  entriesPerRequest: number;
  /** Length of each entry's message. */
  messageBytes: number;
  warmupSec: number;
  durationSec: number;
}

export interface LogsLoadResult {
  requests: number;
  /** Entries accepted (202) in the measured window. */
  ingested: number;
  ingestedPerSec: number;
  /** Entries received by subscribers, each subscriber counted once per entry. */
  deliveries: number;
  expected: number;
  deliveriesPerSec: number;
  seconds: number;
  /** Delivery latency of an entry: POST sent to entry received by a subscriber. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** HTTP round trip of one POST. */
  requestP99Ms: number;
  failedRequests: number;
  loadgenCpuPercent: number;
}

const MAX_SUBSCRIBERS = 1000;
const MAX_CONCURRENCY = 64;
const MAX_SECONDS = 120;
const MESSAGE_MARK = Buffer.from('"message":"t=');
const LOGS_PREFIX = Buffer.from('{"type":"logs"');

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') {
    throw new Error(`loopback targets only (got ${host})`);
  }
}

/** `entries` entries sent at `sentAt` arrived at `receivedAt` (one clock read per frame). */
export type EntriesSink = (sentAt: number, entries: number, receivedAt: number) => void;

/** Whether the entry mark starts at `at` (compared in place: no call into Buffer's search). */
function markAt(frame: Buffer, at: number): boolean {
  if (at + MESSAGE_MARK.length > frame.length) return false;
  for (let i = 0; i < MESSAGE_MARK.length; i += 1) if (frame[at + i] !== MESSAGE_MARK[i]) return false;
  return true;
}

/**
 * Calls back with the send time of the bench entries in a `logs` frame, once per run of entries that
 * share it (the entries of one request do), without parsing the frame. The subscribers receive every
 * entry a hundred times over: with a string and a clock read per entry, the generator's core was the
 * limit of the log stream group (BENCHMARKS.md, saturated rounds); then two of Buffer's searches per
 * entry were the largest part left. So the send time (`toFixed(3)`, up to the `;`) is read byte by
 * byte, and the next entry's mark is looked for first where the last distance between marks puts
 * it (the bench's entries are all alike), else searched for after the `padding` bytes that follow
 * each send time, else from the send time's end.
 */
export function eachSentAt(frame: Buffer, padding: number, receivedAt: number, onEntries: EntriesSink): void {
  let at = frame.indexOf(MESSAGE_MARK);
  let stride = 0;
  let last = Number.NaN;
  let run = 0;
  while (at >= 0) {
    let end = at + MESSAGE_MARK.length;
    let value = 0;
    let scale = 0;
    let digits = true;
    for (; end < frame.length; end += 1) {
      const byte = frame[end]!;
      if (byte === 0x3b /* ; */) break;
      if (byte === 0x2e /* . */ && scale === 0) scale = 1;
      else if (byte >= 0x30 && byte <= 0x39) {
        value = value * 10 + (byte - 0x30);
        scale *= 10;
      } else digits = false;
    }
    if (end >= frame.length) break;
    const sentAt = scale === 0 ? value : value / scale;
    if (digits) {
      if (sentAt === last) run += 1;
      else {
        if (run > 0) onEntries(last, run, receivedAt);
        last = sentAt;
        run = 1;
      }
    }
    let next = stride > 0 && markAt(frame, at + stride) ? at + stride : -1;
    if (next < 0) {
      // The padding is plain 'x's that end the message: skip them when the message ends where the
      // padding would (an 'x', then the closing quote).
      const after = end + padding;
      const whole = padding > 0 && frame[after] === 0x78 /* x */ && frame[after + 1] === 0x22; /* " */
      next = frame.indexOf(MESSAGE_MARK, whole ? after : end);
    }
    if (next >= 0) stride = next - at;
    at = next;
  }
  if (run > 0) onEntries(last, run, receivedAt);
}

/** A subscriber, ready once the backlog (the first `logs` frame after auth_success) has arrived. */
async function subscribe(
  url: string,
  token: string,
  padding: number,
  onEntries: EntriesSink,
): Promise<WebSocket> {
  const wsUrl = `${url.replace(/^http/, 'ws')}/ws/logs?token=${token}`;
  const socket = new WebSocket(wsUrl, { skipUTF8Validation: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no backlog within 10 s')), 10_000);
    let authenticated = false;
    socket.on('message', (raw) => {
      const frame = raw as Buffer;
      if (!authenticated) {
        if (frame.includes('"auth_error"')) reject(new Error(frame.toString()));
        if (frame.includes('"auth_success"')) authenticated = true;
        return;
      }
      if (frame.subarray(0, LOGS_PREFIX.length).equals(LOGS_PREFIX)) {
        clearTimeout(timer);
        resolve();
      }
      eachSentAt(frame, padding, now(), onEntries);
    });
    socket.once('error', reject);
  });
  return socket;
}

function post(agent: Agent, spec: LogsLoadSpec, body: string): Promise<{ status: number; accepted: number }> {
  const target = new URL(`/apps/${spec.appId}/logs`, spec.url);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${spec.producerToken}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({
            status,
            accepted: status === 202 ? (JSON.parse(text) as { accepted: number }).accepted : 0,
          });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('POST timed out')));
    req.once('error', reject);
    req.end(body);
  });
}

export async function runLogsLoad(spec: LogsLoadSpec): Promise<LogsLoadResult> {
  assertLoopback(spec.url);
  if (spec.subscriberTokens.length > MAX_SUBSCRIBERS)
    throw new Error(`at most ${MAX_SUBSCRIBERS} subscribers`);
  if (spec.concurrency < 1 || spec.concurrency > MAX_CONCURRENCY)
    throw new Error(`concurrency 1..${MAX_CONCURRENCY}`);
  if (spec.warmupSec + spec.durationSec > MAX_SECONDS) throw new Error(`at most ${MAX_SECONDS} s`);
  const latency = latencyHistogram();
  const requestTime = latencyHistogram();
  let measuring = false;
  let measuredFrom = Number.POSITIVE_INFINITY;
  let deliveries = 0;
  const onEntries: EntriesSink = (sentAt, entries, receivedAt) => {
    if (!measuring || sentAt < measuredFrom) return;
    deliveries += entries;
    latency.recordValueWithCount(Math.max(1, Math.round((receivedAt - sentAt) * 1000)), entries);
  };
  const padding = 'x'.repeat(Math.max(0, spec.messageBytes - 20));
  const sockets: WebSocket[] = [];
  for (let i = 0; i < spec.subscriberTokens.length; i += 50) {
    const slice = spec.subscriberTokens
      .slice(i, i + 50)
      .map((token) => subscribe(spec.url, token, padding.length, onEntries));
    sockets.push(...(await Promise.all(slice)));
  }

  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  let stopAt = now() + (spec.warmupSec + spec.durationSec) * 1000;
  let requests = 0;
  let ingested = 0;
  let failedRequests = 0;
  const producer = async (): Promise<void> => {
    while (now() < stopAt) {
      const sentAt = now();
      const entries = Array.from({ length: spec.entriesPerRequest }, () => ({
        level: 'info',
        message: `t=${sentAt.toFixed(3)};${padding}`,
      }));
      const answer = await post(agent, spec, JSON.stringify(entries));
      if (!measuring || sentAt < measuredFrom) continue;
      requestTime.recordValue(Math.max(1, Math.round((now() - sentAt) * 1000)));
      if (answer.status === 202) {
        requests += 1;
        ingested += answer.accepted;
      } else {
        failedRequests += 1;
      }
    }
  };
  const producers = Array.from({ length: spec.concurrency }, () => producer());
  await new Promise((resolve) => setTimeout(resolve, spec.warmupSec * 1000));
  const cpuStart = process.cpuUsage();
  const started = now();
  measuredFrom = started;
  measuring = true;
  // The orchestrator reads the server's CPU at both ends of the measured window.
  void markWindow('start');
  stopAt = started + spec.durationSec * 1000;
  await Promise.all(producers);
  const expected = ingested * sockets.length;
  await drain(() => deliveries, expected);
  const seconds = (now() - started) / 1000;
  measuring = false;
  const cpu = process.cpuUsage(cpuStart);
  await markWindow('end');
  agent.destroy();
  sockets.forEach((socket) => socket.terminate());
  return {
    requests,
    ingested,
    ingestedPerSec: ingested / spec.durationSec,
    deliveries,
    expected,
    deliveriesPerSec: deliveries / seconds,
    seconds,
    p50Ms: latency.getValueAtPercentile(50) / 1000,
    p99Ms: latency.getValueAtPercentile(99) / 1000,
    maxMs: latency.maxValue / 1000,
    requestP99Ms: requestTime.getValueAtPercentile(99) / 1000,
    failedRequests,
    loadgenCpuPercent: ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100,
  };
}

// The orchestrator writes the spec to a file and passes its path.
if (require.main === module) runAsChild(runLogsLoad);
