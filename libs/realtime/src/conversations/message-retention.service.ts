// Message retention (`rooms.retention`): every `intervalMs`, on a timer of its own (started at
// bootstrap, cleared at shutdown: the library registers no scheduler of the host's, whose own
// ScheduleModule would run every job twice), the message store deletes the messages older than
// `maxAgeMs` and those past the newest `maxMessagesPerConversation` of each conversation, a small batch
// at a time with a turn of the event loop between batches, so that deliveries go on meanwhile. Off
// (no timer) while both are 0. With `redis`, one node runs each interval (a lock in Redis); the
// deletes are idempotent, so a node that runs without the lock (Redis unreachable) does no harm.
// A host's storage without prune() is refused with the options (rooms.retention).
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { randomUUID } from 'crypto';
import { REALTIME_REDIS, type RealtimeRedisClients } from '../core/scale-out/redis-clients.provider';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import {
  InjectMessageStore,
  type MessagePruneRequest,
  type MessageStore,
} from '../storage/realtime-storage.interface';

/** Messages deleted per statement: short enough that an insert queued behind a batch waits little. */
export const RETENTION_BATCH_SIZE = 500;

/** Takes the deployment's retention lock for `ttl` ms if no node holds it: 'OK', else nil. */
const TAKE_LOCK = "return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])";

@Injectable()
export class MessageRetention implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('MessageRetention');
  private readonly node = randomUUID();
  private readonly stopping = new AbortController();
  private interval: NodeJS.Timeout | undefined;
  private running: Promise<number> | null = null;

  constructor(
    @InjectMessageStore() private readonly messages: MessageStore,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    @Optional() @Inject(REALTIME_REDIS) private readonly redis: RealtimeRedisClients | null = null,
  ) {}

  /** Whether `rooms.retention` asks for anything (a maximum age or a count per conversation). */
  get enabled(): boolean {
    const { maxAgeMs, maxMessagesPerConversation } = this.options.rooms.retention;
    return maxAgeMs > 0 || maxMessagesPerConversation > 0;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.interval = setInterval(() => void this.tick(), this.options.rooms.retention.intervalMs);
  }

  /** Stops the timer, and a run in progress after its current batch. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.interval);
    this.interval = undefined;
    this.stopping.abort();
    await this.running?.catch(() => undefined);
  }

  /**
   * Applies the retention now (what each interval does, without the lock); joins a run in progress.
   * Resolves with the messages deleted.
   */
  run(): Promise<number> {
    this.running ??= this.prune().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async tick(): Promise<void> {
    if (this.running !== null || !(await this.takeLock())) return;
    try {
      await this.run();
    } catch (error) {
      this.logger.error('Message retention failed', error instanceof Error ? error.stack : String(error));
    }
  }

  private async prune(): Promise<number> {
    const prune = this.messages.prune?.bind(this.messages);
    if (prune === undefined || this.stopping.signal.aborted) return 0;
    const { maxAgeMs, maxMessagesPerConversation } = this.options.rooms.retention;
    const started = Date.now();
    const request: MessagePruneRequest = {
      olderThan: maxAgeMs > 0 ? started - maxAgeMs : null,
      keepPerConversation: maxMessagesPerConversation > 0 ? maxMessagesPerConversation : null,
      batchSize: RETENTION_BATCH_SIZE,
      signal: this.stopping.signal,
    };
    const deleted = await prune(request);
    if (deleted > 0) {
      this.logger.log(`Retention deleted ${deleted} messages in ${Date.now() - started} ms`);
    }
    return deleted;
  }

  /**
   * With `redis`: whether this node runs this interval (the lock lasts 90 % of the interval, so that
   * the next interval finds it free). Redis failing: run anyway (deletes are idempotent).
   */
  private async takeLock(): Promise<boolean> {
    if (this.redis === null) return true;
    const ttl = Math.max(1, Math.floor(this.options.rooms.retention.intervalMs * 0.9));
    try {
      const taken = await this.redis.pub.eval(
        TAKE_LOCK,
        1,
        `${this.redis.keyPrefix}:retention-lock`,
        this.node,
        ttl,
      );
      return taken === 'OK';
    } catch (error) {
      this.logger.warn(
        `Taking the retention lock failed, running anyway: ${error instanceof Error ? error.message : String(error)}`,
      );
      return true;
    }
  }
}
