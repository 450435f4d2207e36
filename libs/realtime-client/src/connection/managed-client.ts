// What every client exposes about its connection: state, connect/close, the reconnection
// callbacks. Subclasses bring the transport and the protocol.
import type { ConnectionLifecycle } from './connection-lifecycle';
import type { ConnectionState, StateChange } from './connection-state';

export abstract class ManagedClient<TSync> {
  protected abstract readonly lifecycle: ConnectionLifecycle<TSync>;

  get state(): ConnectionState {
    return this.lifecycle.state;
  }

  /** Sends waiting for the connection to come back. */
  get queuedSends(): number {
    return this.lifecycle.queuedSends;
  }

  /** Connects; resolves once ACTIVE (authenticated and synchronised), rejects if the client ends in ERROR. */
  connect(): Promise<void> {
    return this.lifecycle.start();
  }

  /** Resolves when the client is ACTIVE; rejects on ERROR or CLOSED. */
  whenActive(): Promise<void> {
    return this.lifecycle.whenActive();
  }

  /** Closes for good; queued sends and waiting requests fail with NOT_CONNECTED. */
  close(): void {
    this.lifecycle.stop();
  }

  onStateChange(listener: (change: StateChange) => void): () => void {
    return this.lifecycle.onStateChange(listener);
  }

  onReconnect(listener: () => void): () => void {
    return this.lifecycle.onReconnect(listener);
  }

  onDisconnect(listener: (reason: string) => void): () => void {
    return this.lifecycle.onDisconnect(listener);
  }

  onSyncComplete(listener: (report: TSync) => void): () => void {
    return this.lifecycle.onSyncComplete(listener);
  }
}
