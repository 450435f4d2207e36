// A set of /ws/chat connections split by delivery mode, so that the default path hands the set
// itself to fanOut (no per-recipient allocation) and only opted-in connections go through batching.
import type { RawWsConnection } from '../core/transport/raw-ws-connection';

export class ConnectionGroup {
  /** Connections written to at once. */
  readonly direct = new Set<RawWsConnection>();
  /** Connections that opted into outbound `message_batch` coalescing. */
  readonly batched = new Set<RawWsConnection>();
  /**
   * A room's group: the joined rooms of a connection in this room alone, one frozen array shared by
   * all of them (an array of its own cost each member 56 bytes; heap snapshot diffs of the
   * connections group). Made at the first such join.
   */
  private aloneIn: readonly string[] | null = null;

  /** The rooms list `[room]` shared by the connections that joined this group's room alone. */
  onlyRoom(room: string): readonly string[] {
    if (this.aloneIn === null) this.aloneIn = Object.freeze([room]);
    return this.aloneIn;
  }

  get size(): number {
    return this.direct.size + this.batched.size;
  }

  has(connection: RawWsConnection): boolean {
    return this.direct.has(connection) || this.batched.has(connection);
  }

  add(connection: RawWsConnection, batched: boolean): void {
    (batched ? this.batched : this.direct).add(connection);
  }

  delete(connection: RawWsConnection): boolean {
    return this.direct.delete(connection) || this.batched.delete(connection);
  }

  *[Symbol.iterator](): IterableIterator<RawWsConnection> {
    yield* this.direct;
    yield* this.batched;
  }
}
