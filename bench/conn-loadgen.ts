// The connections group's load generator: one of several processes, each holding a slice of the
// connections (at most a few thousand: a process may hold 20,000 descriptors), every connection from
// its own loopback source address. Driven step by step over IPC by bench/scenarios/connections.ts:
// connect (bounded concurrency), join the room, then count the room messages every member receives
// and their latency (send time in the content); the process holding the publisher sends them. Any
// refusal, error frame or unexpected close is reported, never retried. Prints one JSON line on close.
import * as hdr from 'hdr-histogram-js';
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
import { LeanWs, leanIoConnect } from './lean-ws';
import { latencyHistogram, runAsChild } from './loadgen-common';

export interface ConnSpec {
  transport: 'ws' | 'socket.io';
  /** ws://127.0.0.1:PORT/ws/chat or http://127.0.0.1:PORT. */
  url: string;
  /** One token per member connection of this slice. */
  tokens: string[];
  /** The loopback source address of each member connection (as many as tokens). */
  localAddresses: string[];
  /** Handshakes (then joins) in flight at once. */
  concurrency: number;
  /** This process also holds the publisher: a member of the room that sends, never counted. */
  publisher?: { token: string; localAddress: string };
  /** Characters of each message's content. */
  bytes: number;
}

/** Orchestrator → generator. */
export type ConnCommand =
  | { kind: 'connect' }
  | { kind: 'join' }
  /** Publisher only: `count` messages, `intervalMs` apart, the first at once. */
  | { kind: 'publish'; count: number; intervalMs: number }
  /** Room messages received so far, and since `measure`. */
  | { kind: 'count' }
  /** Starts the measured window: latencies and deliveries from here on, and this process's CPU. */
  | { kind: 'measure' }
  /** Ends it: the figures of the window. */
  | { kind: 'report' }
  | { kind: 'close' };

/** Generator → orchestrator; `problems` are refusals, error frames and closes, never expected. */
export type ConnReply =
  | { kind: 'ready' }
  | { kind: 'connected'; count: number; seconds: number; cpuMicros: number; problems: string[] }
  | { kind: 'joined'; count: number; seconds: number; problems: string[] }
  | { kind: 'published'; count: number }
  | { kind: 'count'; received: number; measured: number; problems: string[] }
  | { kind: 'measuring' }
  | {
      kind: 'report';
      deliveries: number;
      /** The window's latencies, µs (hdr-histogram-js compressed base64), for the orchestrator to merge. */
      histogram: string;
      cpuMicros: number;
      problems: string[];
    };

export interface ConnResult {
  members: number;
  closed: number;
}

/** A process may hold 20,000 descriptors: a slice stays well under. */
const MAX_SLICE = 5000;
/** No step may hang the run. */
const STEP_TIMEOUT_MS = 180_000;
/** At most this many problems are kept word for word (the count is in the message). */
const PROBLEMS_KEPT = 5;

function assertLoopback(url: string, addresses: string[]): void {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`loopback targets only (got ${url})`);
  const outside = addresses.find((a) => !a.startsWith('127.'));
  if (outside !== undefined) throw new Error(`loopback source addresses only (got ${outside})`);
}

interface Member {
  /** Resolves once joined; rejects on a refusal. */
  join(): Promise<void>;
  send(content: string): void;
  close(): void;
}

type OnSentAt = (sentAt: number) => void;
type OnProblem = (problem: string) => void;

/** Opens a raw ws connection; resolves once upgraded. */
async function openWs(
  url: string,
  token: string,
  localAddress: string,
  onSentAt: OnSentAt | null,
  onProblem: OnProblem,
): Promise<Member> {
  // The frames are ASCII JSON from a known server: validating UTF-8 would only cost the generator.
  const socket = new WebSocket(`${url}?token=${token}`, { localAddress, skipUTF8Validation: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let closing = false;
  let joining: { resolve: () => void; reject: (error: Error) => void } | null = null;
  const fail = (problem: string): void => {
    onProblem(problem);
    joining?.reject(new Error(problem));
    joining = null;
  };
  socket.on('error', (error) => fail(`ws error from ${localAddress}: ${error.message}`));
  socket.on('close', (code, reason) => {
    if (!closing) fail(`closed by the server (${code} ${reason.toString()}) from ${localAddress}`);
  });
  socket.on('message', (raw) => {
    const frame = raw as Buffer;
    const sentAt = sentAtBetween(frame, 0, frame.length, ROOM_CONTENT_MARK);
    if (!Number.isNaN(sentAt)) onSentAt?.(sentAt);
    else if (frame.includes('"join_room_ack"')) {
      joining?.resolve();
      joining = null;
    } else if (frame.includes('"type":"error"')) fail(`error frame: ${frame.toString('utf8', 0, 200)}`);
  });
  return {
    join: () =>
      new Promise<void>((resolve, reject) => {
        joining = { resolve, reject };
        socket.send(JSON.stringify({ type: 'join_room', data: { room: BENCH_ROOM } }));
      }),
    send: (content) =>
      socket.send(
        JSON.stringify({ type: 'room_message', data: { room: BENCH_ROOM, content, message_type: 'text' } }),
      ),
    close: () => {
      closing = true;
      socket.terminate();
    },
  };
}

/**
 * A member on a lean client (bench/lean-ws.ts): with `ws` or socket.io-client members, four generator
 * processes on one core opened about 3,900 bare `ws` connections a second with that core at 100 %, so
 * the handshake rate measured the generators. Frames are read in place: the send time of a room
 * message, the join's answer, an error frame. The publisher keeps a full client (it sends).
 */
async function openLean(
  transport: ConnSpec['transport'],
  url: string,
  token: string,
  localAddress: string,
  onSentAt: OnSentAt,
  onProblem: OnProblem,
): Promise<Member> {
  const port = Number(new URL(url).port);
  const client =
    transport === 'ws'
      ? await LeanWs.open(port, `${new URL(url).pathname}?token=${token}`, localAddress)
      : await leanIoConnect(port, token, localAddress);
  let joining: { resolve: () => void; reject: (error: Error) => void } | null = null;
  const fail = (problem: string): void => {
    onProblem(problem);
    joining?.reject(new Error(problem));
    joining = null;
  };
  client.onEnd = (reason) => fail(`${reason} (from ${localAddress})`);
  // Ended in the same read as the upgrade's answer (or the namespace's), before onEnd was set.
  if (client.endReason !== null) onProblem(`${client.endReason} (from ${localAddress})`);
  const mark = transport === 'ws' ? ROOM_CONTENT_MARK : CHAT_CONTENT_MARK;
  const isJoinAnswer =
    transport === 'ws'
      ? (frame: Buffer): boolean => frame.includes('"join_room_ack"')
      : (frame: Buffer): boolean => frame.subarray(0, 3).toString('latin1') === '430';
  const isError =
    transport === 'ws'
      ? (frame: Buffer): boolean => frame.includes('"type":"error"')
      : (frame: Buffer): boolean => frame.subarray(0, 10).toString('latin1') === '42["error"';
  client.listen((buffer, start, end) => {
    const sentAt = sentAtBetween(buffer, start, end, mark);
    if (!Number.isNaN(sentAt)) {
      onSentAt(sentAt);
      return;
    }
    const frame = buffer.subarray(start, end);
    if (isJoinAnswer(frame)) {
      if (transport === 'socket.io' && !frame.includes('"joined":true')) {
        fail(`join refused: ${frame.toString('utf8', 0, 200)}`);
        return;
      }
      joining?.resolve();
      joining = null;
    } else if (isError(frame)) fail(`error frame: ${frame.toString('utf8', 0, 200)}`);
  });
  return {
    join: () =>
      new Promise<void>((resolve, reject) => {
        if (client.isClosed) {
          reject(new Error(`join: the connection from ${localAddress} has ended`));
          return;
        }
        joining = { resolve, reject };
        client.sendText(
          transport === 'ws'
            ? JSON.stringify({ type: 'join_room', data: { room: BENCH_ROOM } })
            : `420${JSON.stringify(['join', { roomId: BENCH_ROOM }])}`,
        );
      }),
    send: () => {
      throw new Error('lean members do not publish');
    },
    close: () => client.close(),
  };
}

/** Opens a Socket.IO connection (WebSocket transport only); resolves once connected. */
async function openIo(
  url: string,
  token: string,
  localAddress: string,
  onSentAt: OnSentAt | null,
  onProblem: OnProblem,
): Promise<Member> {
  const socket: Socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token },
    // Passed to the ws client of engine.io-client.
    localAddress,
  } as Parameters<typeof io>[1]);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error: Error & { data?: unknown }) =>
      reject(new Error(`connect_error from ${localAddress}: ${error.message} ${JSON.stringify(error.data)}`)),
    );
  });
  let closing = false;
  // A join in flight fails as soon as the connection does (not at the step's timeout).
  const dropped = new Promise<never>((_, reject) => {
    socket.on('disconnect', (reason) => {
      if (closing) return;
      const problem = `disconnected (${reason}) from ${localAddress}`;
      onProblem(problem);
      reject(new Error(problem));
    });
  });
  dropped.catch(() => undefined);
  socket.on('error', (error: unknown) => onProblem(`error event: ${JSON.stringify(error)}`));
  if (onSentAt) socket.on('message', (message: { message: string }) => onSentAt(sentAtOf(message.message)));
  return {
    join: async () => {
      const ack = (await Promise.race([
        socket.timeout(STEP_TIMEOUT_MS).emitWithAck('join', { roomId: BENCH_ROOM }),
        dropped,
      ])) as { joined?: boolean };
      if (ack.joined !== true) throw new Error(`join refused: ${JSON.stringify(ack)}`);
    },
    send: (content) => socket.emit('message', { message: content, context: { roomId: BENCH_ROOM } }),
    close: () => {
      closing = true;
      socket.close();
    },
  };
}

/** Runs `task` for 0..count-1 with at most `concurrency` in flight; the first failure rejects. */
async function inPool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

function withTimeout<T>(step: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${step} took over ${STEP_TIMEOUT_MS / 1000} s`)),
      STEP_TIMEOUT_MS,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const cpuMicros = (): number => {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
};

export function runConnections(spec: ConnSpec): Promise<ConnResult> {
  assertLoopback(spec.url, [
    ...spec.localAddresses,
    ...(spec.publisher ? [spec.publisher.localAddress] : []),
  ]);
  if (spec.tokens.length !== spec.localAddresses.length) throw new Error('one source address per token');
  if (spec.tokens.length + 1 > MAX_SLICE) throw new Error(`at most ${MAX_SLICE - 1} connections per process`);
  const open = spec.transport === 'ws' ? openWs : openIo;
  const openMember = (i: number): Promise<Member> =>
    openLean(spec.transport, spec.url, spec.tokens[i]!, spec.localAddresses[i]!, onSentAt, onProblem);
  const problems: string[] = [];
  let problemCount = 0;
  const onProblem: OnProblem = (problem) => {
    problemCount += 1;
    if (problems.length < PROBLEMS_KEPT) problems.push(problem);
  };
  const problemsSoFar = (): string[] =>
    problemCount > problems.length ? [...problems, `… ${problemCount} in all`] : [...problems];
  let received = 0;
  let measuring = false;
  let measured = 0;
  let histogram = latencyHistogram();
  let windowCpuFrom = 0;
  const onSentAt: OnSentAt = (sentAt) => {
    received += 1;
    if (!measuring) return;
    measured += 1;
    histogram.recordValue(Math.max(1, Math.round((now() - sentAt) * 1000)));
  };
  let members: Member[] = [];
  let publisher: Member | null = null;
  const send = (reply: ConnReply): void => void process.send?.(reply);

  const steps: Record<ConnCommand['kind'], (command: ConnCommand) => Promise<void>> = {
    connect: async () => {
      const [started, cpuFrom] = [now(), cpuMicros()];
      members = await withTimeout('connect', inPool(spec.tokens.length, spec.concurrency, openMember));
      if (spec.publisher) {
        publisher = await open(spec.url, spec.publisher.token, spec.publisher.localAddress, null, onProblem);
      }
      const [seconds, cpu] = [(now() - started) / 1000, cpuMicros() - cpuFrom];
      send({ kind: 'connected', count: members.length, seconds, cpuMicros: cpu, problems: problemsSoFar() });
    },
    join: async () => {
      const started = now();
      const all = publisher ? [...members, publisher] : members;
      await withTimeout(
        'join',
        inPool(all.length, spec.concurrency, (i) => all[i]!.join()),
      );
      send({
        kind: 'joined',
        count: all.length,
        seconds: (now() - started) / 1000,
        problems: problemsSoFar(),
      });
    },
    publish: async (command) => {
      if (command.kind !== 'publish' || publisher === null)
        throw new Error('this generator holds no publisher');
      const from = now();
      for (let k = 0; k < command.count; k += 1) {
        // Message k is due at from + k × interval, whatever the previous sends cost.
        const wait = from + k * command.intervalMs - now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        publisher.send(benchContent(now(), spec.bytes));
      }
      send({ kind: 'published', count: command.count });
    },
    count: () => {
      send({ kind: 'count', received, measured, problems: problemsSoFar() });
      return Promise.resolve();
    },
    measure: () => {
      histogram = latencyHistogram();
      measured = 0;
      windowCpuFrom = cpuMicros();
      measuring = true;
      send({ kind: 'measuring' });
      return Promise.resolve();
    },
    report: () => {
      measuring = false;
      send({
        kind: 'report',
        deliveries: measured,
        histogram: hdr.encodeIntoCompressedBase64(histogram),
        cpuMicros: cpuMicros() - windowCpuFrom,
        problems: problemsSoFar(),
      });
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };

  return new Promise<ConnResult>((resolve, reject) => {
    // The orchestrator gone (killed, crashed): nothing is left holding connections.
    process.once('disconnect', () => reject(new Error('the orchestrator went away')));
    process.on('message', (command: ConnCommand) => {
      if (command.kind === 'close') {
        // In reverse order of opening (see bench/scenarios/connections.ts, teardown).
        publisher?.close();
        for (let i = members.length - 1; i >= 0; i -= 1) members[i]!.close();
        resolve({ members: members.length, closed: members.length + (publisher ? 1 : 0) });
        return;
      }
      steps[command.kind](command).catch(reject);
    });
    send({ kind: 'ready' });
  });
}

// The orchestrator writes the spec to a file and passes its path.
if (require.main === module) runAsChild(runConnections);
