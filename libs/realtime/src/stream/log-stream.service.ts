// LogStreamService: the one way logs enter the stream (HTTP, the host's LoggerService, or a host
// calling publish()). Entries get an id and are queued per app; everything published within one
// tick (or, while the last batch went out less than `stream.flushIntervalMs` ago, until that has
// passed) goes out as one `logs` frame per app, serialised once per distinct client filter. With
// `redis`, each such batch is relayed to the other nodes, which deliver it to their own clients.
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { randomBytes } from 'crypto';
import { StreamOutbound, type LogEntry, type LogEntryInput } from '../protocol';
import { RealtimeError } from '../core/errors/realtime-error';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { REALTIME_REDIS, type RealtimeRedisClients } from '../core/scale-out/redis-clients.provider';
import { RedisRelay } from '../core/scale-out/redis-relay';
import { fanOut } from '../core/transport/fan-out';
import { ShutdownCoordinator } from '../core/transport/shutdown-coordinator';
import type { RawWsConnection } from '../core/transport/raw-ws-connection';
import type { CompiledLogFilter } from './log-filter';
import { InjectLogStore, type LogStore } from './log-store';
import { payloadEnvelopeCodec } from './payload-envelope.codec';
import { StreamSessions } from './stream-sessions.service';

/** userId of entries published without one (publish(), the host's logger). */
export const SYSTEM_USER_ID = 'system';

const SEQUENCE_DIGITS = 10;

/** One app's batch of one tick, as relayed between nodes. */
interface RelayedLogs {
  appId: string;
  entries: LogEntry[];
}

@Injectable()
export class LogStreamService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('LogStream');
  private readonly pending = new Map<string, LogEntry[]>();
  private readonly ingested = new Map<string, number>();
  private flushHandle: { cancel(): void } | null = null;
  /** When the last batch went out (performance.now()); the next waits until `flushIntervalMs` after. */
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  /** `stream.flushIntervalMs`; 0 when the service is made without the module's options. */
  private readonly flushIntervalMs: number;
  private closed = false;
  /** Id parts: last ms used (never goes back), a sequence, and a tag telling nodes apart. */
  private lastMs = 0;
  /** `lastMs` as the id's first part, built once per millisecond. */
  private msPrefix = `${'0'.repeat(13)}-`;
  private sequence = 0;
  private readonly nodeTag = randomBytes(3).toString('hex');
  private readonly relay: RedisRelay<RelayedLogs> | null;

  constructor(
    private readonly sessions: StreamSessions,
    @InjectLogStore() private readonly store: LogStore,
    @Optional() @Inject(REALTIME_REDIS) redis: RealtimeRedisClients | null = null,
    @Optional() @Inject(ShutdownCoordinator) shutdown: ShutdownCoordinator | null = null,
    @Optional() @Inject(REALTIME_OPTIONS) options: ResolvedRealtimeOptions | null = null,
  ) {
    this.flushIntervalMs = options?.stream.flushIntervalMs ?? 0;
    this.relay = redis
      ? new RedisRelay<RelayedLogs>(redis, 'logs', ({ appId, entries }) => this.receive(appId, entries))
      : null;
    // Batches answered 202 are written before the connections close (and long before the database).
    shutdown?.oweWrites(() => this.settle());
    this.shutdown = shutdown;
  }

  private readonly shutdown: ShutdownCoordinator | null;

  async onApplicationBootstrap(): Promise<void> {
    await this.relay?.start();
  }

  /** Other nodes' entries keep reaching this node's clients until the connections close. */
  onModuleDestroy(): Promise<void> | void {
    if (this.shutdown === null) return this.relay?.stop();
    return this.shutdown.whenClosed().then(() => this.relay?.stop());
  }

  /**
   * Stores entries of an app and sends them to its authenticated clients (at the end of the tick,
   * with everything else published meanwhile). Throws RealtimeError(INVALID_FORMAT) on bad input.
   * `userId`, when given, is every entry's author whatever the inputs hold (the HTTP route: the
   * token's user), checked as an entry's own.
   * @returns the stored entries, with their ids
   */
  publish(appId: string, input: LogEntryInput | readonly LogEntryInput[], userId?: string): LogEntry[] {
    if (typeof appId !== 'string' || appId === '') {
      throw RealtimeError.invalidFormat('appId must be a non-empty string', { field: 'appId' });
    }
    const inputs: readonly LogEntryInput[] = Array.isArray(input) ? input : [input as LogEntryInput];
    const entries = inputs.map((entry, index) =>
      this.toEntry(appId, entry, Array.isArray(input) ? `entries[${index}]` : 'entry', userId),
    );
    if (entries.length === 0) return entries;
    this.ingested.set(appId, (this.ingested.get(appId) ?? 0) + entries.length);
    const queue = this.pending.get(appId);
    if (queue) queue.push(...entries);
    else this.pending.set(appId, [...entries]);
    if (this.closed) this.flush();
    else this.flushHandle ??= this.scheduleFlush();
    return entries;
  }

  /** The newest entries of an app, oldest first. */
  recent(appId: string, limit: number): LogEntry[] {
    return this.store.recent(appId, limit);
  }

  /** Entries ingested per app since start (Prometheus). */
  ingestedPerApp(): ReadonlyMap<string, number> {
    return this.ingested;
  }

  /** Stores and sends what is queued now, and resolves once the store has written what it holds. */
  async settle(): Promise<void> {
    this.flushHandle?.cancel();
    this.flush();
    await this.store.flush?.();
  }

  /** Sends what is queued now; later publish() calls store without waiting for a tick. */
  beforeApplicationShutdown(): void {
    this.flushHandle?.cancel();
    this.flush();
    this.closed = true;
  }

  /**
   * At the end of this tick, or once `flushIntervalMs` has passed since the last batch went out:
   * under a steady flow of entries, one frame per interval carries what a frame per tick would have.
   */
  private scheduleFlush(): { cancel(): void } {
    const wait = this.lastFlushAt + this.flushIntervalMs - performance.now();
    if (wait > 0) {
      const timer = setTimeout(() => this.flush(), Math.ceil(wait));
      return { cancel: () => clearTimeout(timer) };
    }
    const immediate = setImmediate(() => this.flush());
    return { cancel: () => clearImmediate(immediate) };
  }

  private flush(): void {
    this.flushHandle = null;
    if (this.pending.size === 0) return;
    // Only a batch sent spaces the next (a shutdown's settle with nothing waiting does not).
    this.lastFlushAt = performance.now();
    const batches = [...this.pending];
    this.pending.clear();
    for (const [appId, entries] of batches) {
      // Stored at flush, not at publish: a client authenticating in between gets them once, live.
      this.store.append(appId, entries, 'local');
      void this.relay?.send({ appId, entries }, `${entries.length} log entries of app ${appId}`);
      try {
        this.deliver(appId, entries);
      } catch (error) {
        this.logger.error(
          `Delivering ${entries.length} log entries of app ${appId} failed`,
          error instanceof Error ? error.stack : String(error),
        );
      }
    }
  }

  /** A batch published on another node: kept in this node's buffer (not written again), delivered. */
  private receive(appId: string, entries: LogEntry[]): void {
    this.store.append(appId, entries, 'remote');
    this.deliver(appId, entries);
  }

  private deliver(appId: string, entries: LogEntry[]): void {
    const groups = new Map<string, { filter: CompiledLogFilter | null; connections: RawWsConnection[] }>();
    for (const session of this.sessions.subscribersOf(appId)) {
      const key = session.filter?.key ?? '';
      const group = groups.get(key);
      if (group) group.connections.push(session.connection);
      else groups.set(key, { filter: session.filter, connections: [session.connection] });
    }
    for (const { filter, connections } of groups.values()) {
      const selected = filter ? entries.filter((entry) => filter.matches(entry)) : entries;
      if (selected.length === 0) continue;
      fanOut(connections, payloadEnvelopeCodec.encode(StreamOutbound.LOGS, selected));
    }
  }

  private toEntry(appId: string, input: LogEntryInput, field: string, author: string | undefined): LogEntry {
    if (typeof input !== 'object' || input === null) {
      throw RealtimeError.invalidFormat(`${field} must be an object`, { field });
    }
    if (typeof input.level !== 'string' || input.level === '') {
      throw RealtimeError.invalidFormat(`${field}.level must be a non-empty string`, {
        field: `${field}.level`,
      });
    }
    if (typeof input.message !== 'string') {
      throw RealtimeError.invalidFormat(`${field}.message must be a string`, { field: `${field}.message` });
    }
    const { timestamp } = input;
    const userId = author ?? input.userId;
    if (timestamp !== undefined && (!Number.isSafeInteger(timestamp) || timestamp < 0)) {
      throw RealtimeError.invalidFormat(`${field}.timestamp must be epoch milliseconds`, {
        field: `${field}.timestamp`,
      });
    }
    if (userId !== undefined && (typeof userId !== 'string' || userId === '')) {
      throw RealtimeError.invalidFormat(`${field}.userId must be a non-empty string`, {
        field: `${field}.userId`,
      });
    }
    const metadata = snapshotJson(input.metadata, `${field}.metadata`);
    // Keys in the seed's order; no `metadata` key when there is none. Two literals rather than a
    // spread in the middle: one object per entry, of one of two shapes.
    const id = this.nextId();
    const at = timestamp ?? Date.now();
    const user = userId ?? SYSTEM_USER_ID;
    if (metadata === undefined) {
      return { id, timestamp: at, level: input.level, message: input.message, appId, userId: user };
    }
    return { id, timestamp: at, level: input.level, message: input.message, metadata, appId, userId: user };
  }

  /** `1732300000000-0000000042-a1b2c3`: sorts in ingestion order on one node, by time across nodes. */
  private nextId(): string {
    const ms = Date.now();
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.msPrefix = `${String(ms).padStart(13, '0')}-`;
    }
    this.sequence = (this.sequence + 1) % 10 ** SEQUENCE_DIGITS;
    return `${this.msPrefix}${String(this.sequence).padStart(SEQUENCE_DIGITS, '0')}-${this.nodeTag}`;
  }
}

/**
 * A JSON copy of metadata, taken now: later changes by the caller do not alter the stored entry,
 * and a value that cannot be sent (cycle, BigInt) is refused here rather than failing a broadcast.
 */
function snapshotJson(value: unknown, field: string): unknown {
  if (value === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    throw RealtimeError.invalidFormat(`${field} must be JSON-serialisable`, { field });
  }
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}
