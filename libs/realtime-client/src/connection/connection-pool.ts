// A bounded pool of connected clients: acquire connects a new one unless the maximum is
// reached, release closes it and frees its slot.
import { ClientErrorCode, RealtimeClientError } from './realtime-client.error';

/** What the pool needs of a client. */
export interface PoolableConnection {
  connect(): Promise<void>;
  close(): void;
}

export class ConnectionPool<T extends PoolableConnection> {
  private readonly connections: T[] = [];

  constructor(
    private readonly create: () => T,
    readonly maxConnections = 50,
  ) {
    if (!Number.isInteger(maxConnections) || maxConnections < 1) {
      throw new RangeError('maxConnections must be a positive integer');
    }
  }

  /** Connections held (connecting ones included). */
  get size(): number {
    return this.connections.length;
  }

  /** Creates and connects a client; refuses past the maximum with POOL_EXHAUSTED. */
  async acquire(): Promise<T> {
    if (this.connections.length >= this.maxConnections) {
      throw new RealtimeClientError(ClientErrorCode.POOL_EXHAUSTED, 'Maximum connections reached', {
        maxConnections: this.maxConnections,
      });
    }
    const connection = this.create();
    this.connections.push(connection);
    try {
      await connection.connect();
    } catch (error) {
      this.release(connection);
      throw error;
    }
    return connection;
  }

  /** Closes a client and frees its slot. */
  release(connection: T): void {
    const index = this.connections.indexOf(connection);
    if (index > -1) this.connections.splice(index, 1);
    connection.close();
  }

  closeAll(): void {
    for (const connection of [...this.connections]) this.release(connection);
  }
}
