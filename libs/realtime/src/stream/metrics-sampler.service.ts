// Samples the server's figures every `stream.metricsIntervalMs` (an interval of its own, started at
// bootstrap and cleared at shutdown: the library registers no scheduler of the host's, whose own
// ScheduleModule would otherwise run every job twice) and sends one `metrics` frame, serialised once,
// to every authenticated stream client.
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { statfs } from 'fs/promises';
import { cpus, freemem, totalmem } from 'os';
import { dirname, resolve } from 'path';
import { StreamOutbound, type PerformanceMetrics } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { ConnectionRegistry } from '../core/connection-registry.service';
import { TransportCounters } from '../core/metrics/transport-counters.service';
import { fanOut } from '../core/transport/fan-out';
import { payloadEnvelopeCodec } from './payload-envelope.codec';
import { StreamSessions } from './stream-sessions.service';

interface CpuTimes {
  idle: number;
  total: number;
}

interface Reading {
  at: number;
  cpu: CpuTimes;
  messages: number;
  errors: number;
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const { user, nice, sys, idle: cpuIdle, irq } = cpu.times;
    idle += cpuIdle;
    total += user + nice + sys + cpuIdle + irq;
  }
  return { idle, total };
}

@Injectable()
export class MetricsSampler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('LogStreamMetrics');
  private previous: Reading | null = null;
  private last: PerformanceMetrics | null = null;
  private sampling = false;
  private diskFailureLogged = false;
  private interval: NodeJS.Timeout | undefined;

  constructor(
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly counters: TransportCounters,
    private readonly connections: ConnectionRegistry,
    private readonly sessions: StreamSessions,
  ) {}

  /** The latest sample sent, or null before the first interval. */
  get latest(): PerformanceMetrics | null {
    return this.last;
  }

  onApplicationBootstrap(): void {
    this.previous = this.read();
    this.interval = setInterval(() => void this.tick(), this.options.stream.metricsIntervalMs);
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.interval);
    this.interval = undefined;
  }

  /** One interval: sample, then send to every authenticated client. An overlapping tick is skipped. */
  async tick(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const metrics = await this.sample();
      this.last = metrics;
      fanOut(
        this.sessions.authenticatedConnections(),
        payloadEnvelopeCodec.encode(StreamOutbound.METRICS, metrics),
      );
    } catch (error) {
      this.logger.error('Sampling metrics failed', error instanceof Error ? error.stack : String(error));
    } finally {
      this.sampling = false;
    }
  }

  /** Figures now; usage and rates cover the time since the previous sample (or bootstrap). */
  async sample(): Promise<PerformanceMetrics> {
    const now = this.read();
    const previous = this.previous ?? now;
    this.previous = now;
    const seconds = (now.at - previous.at) / 1000;
    const cpuTotal = now.cpu.total - previous.cpu.total;
    const cpuIdle = now.cpu.idle - previous.cpu.idle;
    const usage = cpuTotal > 0 ? Math.min(100, Math.max(0, 100 * (1 - cpuIdle / cpuTotal))) : 0;
    const total = totalmem();
    const free = freemem();
    const disk = await this.disk();
    const counters = this.counters.snapshot();
    return {
      timestamp: now.at,
      cpu: { usage: Math.round(usage * 100) / 100, cores: cpus().length },
      memory: { used: total - free, free, total },
      disk,
      network: {
        bytesReceived: counters.bytesReceived,
        bytesSent: counters.bytesSent,
        connections: this.connections.size + this.connections.pendingCount,
      },
      activeConnections: this.connections.size,
      messageRate: seconds > 0 ? (now.messages - previous.messages) / seconds : 0,
      errorRate: seconds > 0 ? (now.errors - previous.errors) / seconds : 0,
    };
  }

  private read(): Reading {
    const { messagesReceived, errorsSent } = this.counters.snapshot();
    return { at: Date.now(), cpu: cpuTimes(), messages: messagesReceived, errors: errorsSent };
  }

  /** The file system of `stream.diskPath`, or of its nearest existing parent (not created yet). */
  private async disk(): Promise<PerformanceMetrics['disk']> {
    let path = resolve(this.options.stream.diskPath);
    for (;;) {
      try {
        const stats = await statfs(path);
        return {
          used: (stats.blocks - stats.bfree) * stats.bsize,
          free: stats.bavail * stats.bsize,
          total: stats.blocks * stats.bsize,
        };
      } catch (error) {
        const parent = dirname(path);
        if (parent !== path) {
          path = parent;
          continue;
        }
        if (!this.diskFailureLogged) {
          this.diskFailureLogged = true;
          this.logger.warn(`statfs failed for ${this.options.stream.diskPath}: ${String(error)}`);
        }
        return { used: 0, free: 0, total: 0 };
      }
    }
  }
}
