// The stream's counters for Prometheus, in a prom-client Registry of this app instance (never the
// global default registry: several apps may run in one process). Values are read at scrape time.
// The rooms endpoint's own series (RoomsMonitor) join them when the rooms gateway is mounted.
import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { ConnectionRegistry } from '../core/connection-registry.service';
import { TransportCounters } from '../core/metrics/transport-counters.service';
import type { PerformanceMetrics } from '../protocol';
import { MOUNTED_GATEWAYS } from '../realtime.constants';
import { RoomsMonitor } from '../rooms/rooms-monitor.service';
import { LogStreamService } from './log-stream.service';
import { MetricsSampler } from './metrics-sampler.service';
import { StreamSessions } from './stream-sessions.service';

@Injectable()
export class PrometheusMetrics {
  readonly registry = new Registry();

  constructor(
    counters: TransportCounters,
    connections: ConnectionRegistry,
    sessions: StreamSessions,
    logs: LogStreamService,
    sampler: MetricsSampler,
    rooms: RoomsMonitor,
    @Inject(MOUNTED_GATEWAYS) mounted: readonly string[],
  ) {
    const registers = [this.registry];
    const total = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    new Gauge({
      name: 'realtime_active_connections',
      help: 'Authenticated real-time connections, every transport',
      registers,
      collect() {
        this.set(connections.size);
      },
    });
    new Gauge({
      name: 'realtime_connections',
      help: 'Authenticated real-time connections by transport',
      labelNames: ['transport'],
      registers,
      collect() {
        const { socketIo, ws } = connections.countByTransport();
        this.set({ transport: 'socket.io' }, socketIo);
        this.set({ transport: 'ws' }, ws);
      },
    });
    new Gauge({
      name: 'realtime_stream_pending_connections',
      help: 'Open connections not authenticated yet (the log stream authenticates after opening)',
      registers,
      collect() {
        this.set(connections.pendingCount);
      },
    });
    total('realtime_bytes_received_total', 'Bytes received through the real-time transports', () => {
      return counters.bytesReceived;
    });
    total(
      'realtime_bytes_sent_total',
      'Bytes sent through the real-time transports',
      () => counters.bytesSent,
    );
    total(
      'realtime_messages_received_total',
      'Inbound messages (frames, events)',
      () => counters.messagesReceived,
    );
    total('realtime_errors_sent_total', 'Error frames and events sent to clients', () => counters.errorsSent);
    new Counter({
      name: 'realtime_log_entries_ingested_total',
      help: 'Log entries ingested, by application',
      labelNames: ['app_id'],
      registers,
      collect() {
        this.reset();
        for (const [appId, count] of logs.ingestedPerApp()) this.inc({ app_id: appId }, count);
      },
    });
    const sampled = (name: string, help: string, read: (m: PerformanceMetrics) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const latest = sampler.latest;
          if (latest) this.set(read(latest));
        },
      });
    sampled(
      'realtime_cpu_usage_percent',
      'System CPU busy over the last metrics interval',
      (m) => m.cpu.usage,
    );
    sampled('realtime_memory_used_bytes', 'System memory in use', (m) => m.memory.used);
    sampled('realtime_memory_total_bytes', 'System memory', (m) => m.memory.total);
    sampled('realtime_disk_used_bytes', 'Used bytes of the data folder file system', (m) => m.disk.used);
    sampled('realtime_disk_total_bytes', 'Size of the data folder file system', (m) => m.disk.total);
    if (mounted.includes('rooms')) for (const metric of rooms.metrics) this.registry.registerMetric(metric);
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
