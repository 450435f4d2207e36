// What RealtimeModule mounts for the log and metrics stream when `gateways.logs` is not false.
import type { Provider, Type } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { REALTIME_OPTIONS } from '../realtime.constants';
import { REALTIME_DATA_SOURCE, REALTIME_WRITE_QUEUE } from '../storage/storage.providers';
import type { WriteQueue } from '../storage/typeorm/write-transaction';
import type { RealtimeHttpRoutes, ResolvedRealtimeOptions } from '../realtime.options';
import { LogEntriesPipe } from './log-entries.pipe';
import { InMemoryLogStore, LOG_STORE } from './log-store';
import { LogStreamService } from './log-stream.service';
import { PersistentLogStore } from '../storage/typeorm/persistent-log-store';
import { logsController } from './logs.controller';
import { MetricsSampler } from './metrics-sampler.service';
import { PrometheusMetrics } from './prometheus-metrics.service';
import { prometheusController } from './prometheus.controller';
import { StreamPortListener } from './stream-port.listener';
import { StreamSessions } from './stream-sessions.service';
import { StreamGateway } from './stream.gateway';

const logStoreProvider: Provider = {
  provide: LOG_STORE,
  inject: [REALTIME_OPTIONS, REALTIME_DATA_SOURCE, REALTIME_WRITE_QUEUE],
  useFactory: async (
    options: ResolvedRealtimeOptions,
    dataSource: DataSource | null,
    writes: WriteQueue | null,
  ) => {
    if (!options.stream.persist) return new InMemoryLogStore(options.stream.bufferSize);
    // With the host's storage, its log store (required with persist: checked with the options).
    if (options.storage?.logs) return options.storage.logs;
    const store = new PersistentLogStore(
      dataSource as DataSource,
      options.stream.bufferSize,
      writes as WriteQueue,
    );
    await store.load();
    return store;
  },
};

export const STREAM_PROVIDERS: Provider[] = [
  StreamGateway,
  StreamSessions,
  LogStreamService,
  logStoreProvider,
  MetricsSampler,
  PrometheusMetrics,
  StreamPortListener,
  LogEntriesPipe,
];

/** The HTTP routes the host opted into; none by default. */
export function streamControllers(routes: RealtimeHttpRoutes): Type[] {
  return [
    ...(routes.logIngestionPath === undefined ? [] : [logsController(routes.logIngestionPath)]),
    ...(routes.metricsPath === undefined ? [] : [prometheusController(routes.metricsPath)]),
  ];
}

/** Injectable by the host (publish logs, read the bound stream port, read the last metrics). */
export const STREAM_EXPORTS = [LogStreamService, StreamPortListener, MetricsSampler, LOG_STORE];
