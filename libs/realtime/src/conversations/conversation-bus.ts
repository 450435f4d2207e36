// The message bus: every stored message is published once; each gateway delivers it to its own
// connections. With `redis`, events are relayed to the other nodes over Redis pub/sub (in order per
// publishing node), so a raw-ws member on node B receives a message stored on node A. Socket.IO
// broadcasts need no relay (its Redis adapter reaches every node), hence `localEvents$`. An event's
// origin (the posting connection) stays on this node: it is left out of what is relayed. At shutdown
// the bus closes once the connections are (messages stored meanwhile still reach their senders).
import {
  Inject,
  Injectable,
  Optional,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Subject, filter, map, type Observable } from 'rxjs';
import { REALTIME_REDIS, type RealtimeRedisClients } from '../core/scale-out/redis-clients.provider';
import { RedisRelay } from '../core/scale-out/redis-relay';
import { ShutdownCoordinator } from '../core/transport/shutdown-coordinator';
import type { ConversationEvent } from './conversation.types';

interface BusItem {
  event: ConversationEvent;
  local: boolean;
}

/** The event as other nodes get it: a connection of this node means nothing there (nor serialises). */
function withoutOrigin(event: ConversationEvent): ConversationEvent {
  return event.kind === 'room'
    ? { kind: 'room', room: event.room, message: event.message }
    : { kind: 'direct', message: event.message };
}

@Injectable()
export class ConversationBus implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly subject = new Subject<BusItem>();
  private readonly relay: RedisRelay<ConversationEvent> | null;
  /** Every event, stored on this node or relayed from another. */
  readonly events$: Observable<ConversationEvent>;
  /** Events stored on this node only. */
  readonly localEvents$: Observable<ConversationEvent>;

  constructor(
    @Inject(REALTIME_REDIS) redis: RealtimeRedisClients | null,
    // By its token: the metadata of a `T | null` parameter names no class.
    @Optional() @Inject(ShutdownCoordinator) private readonly shutdown: ShutdownCoordinator | null = null,
  ) {
    this.relay = redis
      ? new RedisRelay<ConversationEvent>(redis, 'conversations', (event) =>
          this.subject.next({ event, local: false }),
        )
      : null;
    this.events$ = this.subject.pipe(map((item) => item.event));
    this.localEvents$ = this.subject.pipe(
      filter((item) => item.local),
      map((item) => item.event),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.relay?.start();
  }

  publish(event: ConversationEvent): void {
    this.subject.next({ event, local: true });
    // The message is stored: if the relay fails, other nodes' clients catch up by after_id.
    void this.relay?.send(
      event.origin === undefined ? event : withoutOrigin(event),
      `message ${event.message.id}`,
    );
  }

  /**
   * Runs with the shutdown's own first phase, so it waits for it: the messages whose writes were in
   * flight are delivered (the sender's copy is its acknowledgement) before the connections close.
   */
  onModuleDestroy(): Promise<void> | void {
    if (this.shutdown === null) return this.close();
    return this.shutdown.whenClosed().then(() => this.close());
  }

  private close(): void {
    this.relay?.stop();
    this.subject.complete();
  }
}
