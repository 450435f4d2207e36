// Monitoring of the rooms endpoint: WS_CONNECT / WS_MESSAGE / WS_DISCONNECT log lines and the
// Prometheus series of its messages in and out, errors, reconnections and message handling time.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { Counter, Gauge, Histogram, type Metric } from 'prom-client';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import type { RawWsMonitor } from '../core/metrics/raw-ws-monitor';
import { TransportCounters } from '../core/metrics/transport-counters.service';
import type { RawWsConnection } from '../core/transport/raw-ws-connection';
import { RealtimeErrorCode, RoomsInbound, RoomsOutbound } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';

/** A user's new connection within this long of losing one counts as a reconnection. */
export const RECONNECTION_WINDOW_MS = 60_000;
/** Users whose last disconnection is remembered; the least recently disconnected are forgotten first. */
export const TRACKED_DISCONNECTIONS = 50_000;
/**
 * Handling time buckets, in seconds: a room message is validated, stored and fanned out in about
 * 0.1 to 1 ms; a history page of a large room takes a few ms.
 */
const HANDLING_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Label of an inbound message whose type is not one of the protocol (client-chosen: not a label of its own). */
export const UNKNOWN_TYPE = 'unknown';
/** Longest log field value; a longer one (a client-chosen room name) is cut. */
const MAX_FIELD_LENGTH = 128;

/** One inbound type's count and its pre-bound histogram child (no label object per message). */
interface InboundSlot {
  readonly type: string;
  count: number;
  readonly handling: Histogram.Internal<'type'>;
}

interface CountSlot {
  count: number;
}

@Injectable()
export class RoomsMonitor implements RawWsMonitor {
  private readonly logger = new Logger('Rooms');
  private readonly inbound = new Map<string, InboundSlot>();
  private readonly unknownInbound: InboundSlot;
  private readonly outbound = new Map<string, CountSlot>();
  /** `{"type":"<type>"` of each outbound type, to name a frame serialised elsewhere (presence). */
  private readonly outboundPrefixes: ReadonlyArray<readonly [prefix: string, type: string]>;
  private readonly errors = new Map<string, CountSlot>();
  private readonly lastDisconnection = new LRUCache<string, number>({ max: TRACKED_DISCONNECTIONS });
  private reconnections = 0;
  private openConnections = 0;
  private readonly handling: Histogram<'type'>;
  /** The series, registered by the Prometheus exposition in its registry (never the global one). */
  readonly metrics: readonly Metric[];

  /** `rooms.logMessages`: one WS_MESSAGE debug line per inbound frame, left to the host logger's levels. */
  private readonly logMessages: boolean;

  constructor(
    private readonly counters: TransportCounters,
    @Inject(REALTIME_OPTIONS) options: ResolvedRealtimeOptions,
  ) {
    this.logMessages = options.rooms.logMessages;
    this.handling = new Histogram({
      name: 'realtime_rooms_message_handling_seconds',
      help: 'Time from the start of an inbound rooms message handling to its end (stored and fanned out), by type',
      labelNames: ['type'],
      buckets: HANDLING_BUCKETS,
      registers: [],
    });
    // A batch is counted as the messages it carries.
    for (const type of Object.values(RoomsInbound)) {
      if (type !== RoomsInbound.MESSAGE_BATCH) this.inbound.set(type, this.inboundSlot(type));
    }
    this.unknownInbound = this.inboundSlot(UNKNOWN_TYPE);
    for (const type of Object.values(RoomsOutbound)) this.outbound.set(type, { count: 0 });
    this.outboundPrefixes = Object.values(RoomsOutbound).map((type) => [`{"type":"${type}"`, type] as const);
    for (const code of Object.values(RealtimeErrorCode)) this.errors.set(code, { count: 0 });
    this.metrics = this.createMetrics();
  }

  /** Reports the connections of the rooms endpoint at `path` to this monitor (the gateway calls it at init). */
  watch(path: string): void {
    this.counters.monitorEndpoint(path, this);
  }

  /** A rooms connection opened: WS_CONNECT, a reconnection if the user lost one within the window. */
  opened(connection: RawWsConnection, user: RealtimeIdentity): void {
    const openedAt = Date.now();
    this.openConnections += 1;
    const lostAt = this.lastDisconnection.get(user.userId);
    if (lostAt !== undefined && openedAt - lostAt <= RECONNECTION_WINDOW_MS) {
      // Per user, not per connection: one timestamp (the user's last loss), cleared by the new
      // connection that answers it, so two tabs dropping and coming back count once.
      this.reconnections += 1;
      this.lastDisconnection.delete(user.userId);
    }
    // No peer address: a log-level line of every connection is no place for personal data.
    this.logger.log(`WS_CONNECT: UserID=${field(user.userId)}, Path=${field(connection.path)}`);
  }

  /**
   * A rooms connection `opened` here closed with `code` (the gateway's disconnect hook calls it: no
   * listener or closure is kept per connection). The duration runs from the upgrade.
   */
  closed(connection: RawWsConnection, code: number): void {
    const closedAt = Date.now();
    this.openConnections -= 1;
    const userId = connection.identity?.userId;
    if (userId !== undefined) this.lastDisconnection.set(userId, closedAt);
    const seconds = ((closedAt - connection.openedAt) / 1000).toFixed(3);
    this.logger.log(
      `WS_DISCONNECT: UserID=${field(userId ?? '')}, Path=${field(connection.path)}, Duration=${seconds}s, Code=${code}`,
    );
  }

  handled(connection: RawWsConnection, type: string, data: unknown, startedAt: number): void {
    const elapsedMs = performance.now() - startedAt;
    const slot = this.inbound.get(type) ?? this.unknownInbound;
    slot.count += 1;
    slot.handling.observe(elapsedMs / 1000);
    // Off: no line is built. On: the host's logger filters the debug level (Nest's static level check
    // is false for a default app and for a host logger instance, so it is not consulted).
    if (this.logMessages) this.logMessage(connection, slot.type, data, elapsedMs);
  }

  unreadable(): void {
    this.unknownInbound.count += 1;
  }

  sent(type: string, count: number): void {
    let slot = this.outbound.get(type);
    if (slot === undefined) {
      // A type of the server's own (a host handler): bounded, unlike client-chosen ones.
      slot = { count: 0 };
      this.outbound.set(type, slot);
    }
    slot.count += count;
  }

  /** `sent` for a frame serialised elsewhere (presence notices), named by its leading `type`. */
  sentSerialized(serialized: string, count: number): void {
    for (const [prefix, type] of this.outboundPrefixes) {
      if (serialized.startsWith(prefix)) {
        this.sent(type, count);
        return;
      }
    }
    this.sent(UNKNOWN_TYPE, count);
  }

  error(code: string, written: boolean): void {
    let slot = this.errors.get(code);
    if (slot === undefined) {
      slot = { count: 0 };
      this.errors.set(code, slot);
    }
    slot.count += 1;
    if (written) this.sent(RoomsOutbound.ERROR, 1);
  }

  /** The type, the user and the room, never the content. */
  private logMessage(connection: RawWsConnection, type: string, data: unknown, elapsedMs: number): void {
    const room = typeof data === 'object' && data !== null ? (data as { room?: unknown }).room : undefined;
    const user = connection.identity?.userId ?? '-';
    this.logger.debug(
      `WS_MESSAGE: Type=${type}, UserID=${field(user)}` +
        (typeof room === 'string' ? `, Room=${field(room)}` : '') +
        `, Handling=${elapsedMs.toFixed(3)}ms`,
    );
  }

  private inboundSlot(type: string): InboundSlot {
    // Zeroed so that every type's series exists before its first message.
    this.handling.zero({ type });
    return { type, count: 0, handling: this.handling.labels(type) };
  }

  /** Counters read from the plain numbers at scrape time, as the transport counters are. */
  private createMetrics(): Metric[] {
    const { inbound, unknownInbound, outbound, errors } = this;
    const read = {
      reconnections: () => this.reconnections,
      open: () => this.openConnections,
    };
    return [
      new Gauge({
        name: 'realtime_rooms_active_connections',
        help: 'Open connections of the rooms endpoint',
        registers: [],
        collect() {
          this.set(read.open());
        },
      }),
      new Counter({
        name: 'realtime_rooms_messages_received_total',
        help: 'Inbound rooms messages by type (a batch counts as its messages; unknown: not a protocol type or not readable)',
        labelNames: ['type'],
        registers: [],
        collect() {
          this.reset();
          for (const slot of inbound.values()) this.inc({ type: slot.type }, slot.count);
          this.inc({ type: unknownInbound.type }, unknownInbound.count);
        },
      }),
      new Counter({
        name: 'realtime_rooms_messages_sent_total',
        help: 'Outbound rooms messages by type, one per connection written to',
        labelNames: ['type'],
        registers: [],
        collect() {
          this.reset();
          for (const [type, slot] of outbound) this.inc({ type }, slot.count);
        },
      }),
      new Counter({
        name: 'realtime_rooms_connection_errors_total',
        help: 'Error frames of the rooms endpoint by code, refused handshakes included',
        labelNames: ['code'],
        registers: [],
        collect() {
          this.reset();
          for (const [code, slot] of errors) this.inc({ code }, slot.count);
        },
      }),
      new Counter({
        name: 'realtime_rooms_reconnections_total',
        help: `New rooms connections of a user within ${RECONNECTION_WINDOW_MS / 1000} s of losing one`,
        registers: [],
        collect() {
          this.reset();
          this.inc(read.reconnections());
        },
      }),
      this.handling,
    ];
  }
}

/** A log field value: as is when it holds no space, comma, quote or '='; otherwise JSON-quoted. Cut when long. */
export function field(value: string | number): string {
  const text = String(value);
  const cut = text.length > MAX_FIELD_LENGTH ? `${text.slice(0, MAX_FIELD_LENGTH)}…` : text;
  return cut !== '' && /^[^\s,="\\]+$/.test(cut) ? cut : JSON.stringify(cut);
}
