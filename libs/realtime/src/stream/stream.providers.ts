// What RealtimeModule mounts for the log and metrics stream when `gateways.logs` is not false.
import type { DynamicModule, Provider, Type } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { REALTIME_CONNECTION, REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { LogEntriesPipe } from './log-entries.pipe';
import { InMemoryLogStore, LOG_STORE } from './log-store';
import { LogStreamService } from './log-stream.service';
import { PersistentLogStore } from './persistent-log-store';
import { LogsController } from './logs.controller';
import { MetricsSampler } from './metrics-sampler.service';
import { PrometheusMetrics } from './prometheus-metrics.service';
import { PrometheusController } from './prometheus.controller';
import { StreamPortListener } from './stream-port.listener';
import { StreamSessions } from './stream-sessions.service';
import { StreamGateway } from './stream.gateway';

const logStoreProvider: Provider = {
  provide: LOG_STORE,
  inject: [REALTIME_OPTIONS, getDataSourceToken(REALTIME_CONNECTION)],
  useFactory: async (options: ResolvedRealtimeOptions, dataSource: DataSource) => {
    if (!options.stream.persist) return new InMemoryLogStore(options.stream.bufferSize);
    const store = new PersistentLogStore(dataSource, options.stream.bufferSize);
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

export const STREAM_CONTROLLERS: Type[] = [LogsController, PrometheusController];

/** Injectable by the host (publish logs, read the bound stream port, read the last metrics). */
export const STREAM_EXPORTS = [LogStreamService, StreamPortListener, MetricsSampler, LOG_STORE];

/** The metrics interval lives in @nestjs/schedule's SchedulerRegistry. */
export function streamImports(): DynamicModule[] {
  return [ScheduleModule.forRoot()];
}
