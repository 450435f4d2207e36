// MetricsSampler: its own interval lives from bootstrap to shutdown (fake timers), every tick sends
// one frame to every authenticated client, figures are real.
import { Test, type TestingModule } from '@nestjs/testing';
import { cpus, tmpdir, totalmem } from 'os';
import { ConnectionRegistry } from '../core/connection-registry.service';
import { TransportCounters } from '../core/metrics/transport-counters.service';
import type { RawWsConnection } from '../core/transport/raw-ws-connection';
import type { EncodedTextFrame } from '../core/transport/text-frame';
import type { PerformanceMetrics } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import { resolveRealtimeOptions } from '../realtime.options';
import { MetricsSampler } from './metrics-sampler.service';
import { StreamSessions } from './stream-sessions.service';

const options = resolveRealtimeOptions({
  auth: { secret: 'unit-test-secret-of-32-characters' },
  stream: { metricsIntervalMs: 1000, diskPath: tmpdir() },
});

describe('MetricsSampler', () => {
  let moduleRef: TestingModule;
  let sampler: MetricsSampler;
  let counters: TransportCounters;
  const sent: string[][] = [[], []];
  const clients = sent.map((frames) => ({
    sendEncoded: (frame: EncodedTextFrame) => frames.push(frame.payload.toString('utf8')) > 0,
  }));
  const sessions = {
    authenticatedConnections: () => clients.values() as unknown as IterableIterator<RawWsConnection>,
  };

  beforeEach(async () => {
    // Real I/O (statfs) must still complete: only the clock and the timers are faked.
    jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    for (const frames of sent) frames.length = 0;
    moduleRef = await Test.createTestingModule({
      providers: [
        MetricsSampler,
        TransportCounters,
        ConnectionRegistry,
        { provide: REALTIME_OPTIONS, useValue: options },
        { provide: StreamSessions, useValue: sessions },
      ],
    }).compile();
    await moduleRef.init();
    sampler = moduleRef.get(MetricsSampler);
    counters = moduleRef.get(TransportCounters);
  });

  afterEach(async () => {
    await moduleRef.close();
    jest.useRealTimers();
  });

  it('starts its interval at bootstrap and clears it at shutdown', async () => {
    expect(jest.getTimerCount()).toBe(1);
    await moduleRef.close();
    expect(jest.getTimerCount()).toBe(0);
    moduleRef = await Test.createTestingModule({}).compile();
  });

  it('samples every 5 s with default options', async () => {
    await moduleRef.close();
    const defaults = resolveRealtimeOptions({ auth: { secret: 'unit-test-secret-of-32-characters' } });
    expect(defaults.stream.metricsIntervalMs).toBe(5000);
    moduleRef = await Test.createTestingModule({
      providers: [
        MetricsSampler,
        TransportCounters,
        ConnectionRegistry,
        {
          provide: REALTIME_OPTIONS,
          useValue: { ...defaults, stream: { ...defaults.stream, diskPath: tmpdir() } },
        },
        { provide: StreamSessions, useValue: sessions },
      ],
    }).compile();
    await moduleRef.init();
    await jest.advanceTimersByTimeAsync(4999);
    expect(sent[0]).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    await waitFor(() => sent[0]?.length === 1);
    await jest.advanceTimersByTimeAsync(4999);
    expect(sent[0]).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    await waitFor(() => sent[0]?.length === 2);
  });

  it('sends one metrics frame, serialised once, to every authenticated client at each interval', async () => {
    const sample = jest.spyOn(sampler, 'sample');
    await jest.advanceTimersByTimeAsync(999);
    expect(sample).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    await waitFor(() => sent[1]?.length === 1);
    expect(sent[0]).toEqual(sent[1]);
    const frame = JSON.parse(sent[0]?.[0] ?? '{}') as { type: string; payload: PerformanceMetrics };
    expect(frame.type).toBe('metrics');
    expect(sampler.latest).toEqual(frame.payload);
    await jest.advanceTimersByTimeAsync(1000);
    await waitFor(() => sent[0]?.length === 2);
    expect(sample).toHaveBeenCalledTimes(2);
  });

  it('computes rates per second over the interval and reads the real machine figures', async () => {
    for (let i = 0; i < 10; i++) counters.received(100);
    for (let i = 0; i < 4; i++) counters.error();
    const registry = moduleRef.get(ConnectionRegistry);
    registry.holdPending();
    registry.holdPending();
    counters.sent(2500);
    jest.setSystemTime(1_002_000);
    const metrics = await sampler.sample();
    expect(metrics).toMatchObject({
      timestamp: 1_002_000,
      messageRate: 5,
      errorRate: 2,
      network: { bytesReceived: 1000, bytesSent: 2500, connections: 2 },
      activeConnections: 0,
    });
    expect(metrics.cpu.cores).toBe(cpus().length);
    expect(metrics.cpu.usage).toBeGreaterThanOrEqual(0);
    expect(metrics.cpu.usage).toBeLessThanOrEqual(100);
    expect(metrics.memory.total).toBe(totalmem());
    expect(metrics.memory.used + metrics.memory.free).toBe(totalmem());
    expect(metrics.disk.total).toBeGreaterThan(0);
    expect(metrics.disk.used).toBeLessThanOrEqual(metrics.disk.total);

    jest.setSystemTime(1_003_000);
    const quiet = await sampler.sample();
    expect(quiet.messageRate).toBe(0);
    expect(quiet.errorRate).toBe(0);
  });

  it('reads the nearest existing folder when stream.diskPath does not exist yet', async () => {
    const missing = resolveRealtimeOptions({
      auth: { secret: 'unit-test-secret-of-32-characters' },
      stream: { diskPath: `${tmpdir()}/does/not/exist/yet` },
    });
    const other = new MetricsSampler(
      missing,
      counters,
      moduleRef.get(ConnectionRegistry),
      sessions as unknown as StreamSessions,
    );
    expect((await other.sample()).disk.total).toBeGreaterThan(0);
  });
});

/** Polls until the predicate holds, for at most 5 s of real time (hrtime is not faked here). */
async function waitFor(predicate: () => boolean, limitMs = 5_000): Promise<void> {
  const start = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - start) / 1e6;
  while (!predicate() && elapsedMs() < limitMs) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (!predicate()) throw new Error('condition not met');
}
