// The per-client-address limits on the library's Socket.IO server. An engine.io connection is admitted
// when it opens (the handshake rate and the open connections of its address, ClientAddressLimits) and
// counted for its address until it closes. A refused one learns why in its CONNECT's connect_error, the
// coded error, before its origin and token are looked at; it is then closed, or after
// REFUSED_CONNECTION_LINGER_MS when it sends no CONNECT. Each further CONNECT on one engine.io
// connection is one more handshake of its address.
import type { Server, Socket } from 'socket.io';
import type { RealtimeError } from '../errors/realtime-error';
import { REFUSED_CONNECTION_LINGER_MS, type ClientAddressLimits } from './client-address-limits.service';

const ADDRESS = Symbol('realtime.clientAddress');
const REFUSAL = Symbol('realtime.addressRefusal');
const CONNECTS = Symbol('realtime.connectPackets');

type EngineConnection = Socket['conn'];

/** What the limits keep on an engine.io connection. */
interface AddressedConnection extends EngineConnection {
  /** The address counted for the connection (absent when refused, and once released). */
  [ADDRESS]?: string;
  /** Why the connection was refused when it opened. */
  [REFUSAL]?: RealtimeError;
  /** CONNECT packets seen on the connection. */
  [CONNECTS]?: number;
}

export class SocketIoAddressLimits {
  /** One listener for every connection: it gives back the address of the one closing (`this`). */
  private readonly releaseOnClose: (this: AddressedConnection) => void;
  private readonly onConnection = (connection: AddressedConnection): void => this.admit(connection);

  constructor(
    private readonly server: Server,
    private readonly limits: ClientAddressLimits,
  ) {
    this.releaseOnClose = function (this: AddressedConnection): void {
      const address = this[ADDRESS];
      if (address === undefined) return;
      delete this[ADDRESS];
      limits.release(address);
    };
    server.engine.on('connection', this.onConnection);
  }

  /** Stops admitting (the server is closing); connections still open give their address back on close. */
  stop(): void {
    this.server.engine.off('connection', this.onConnection);
  }

  /** The handshake middleware's first step: throws the refusal of this CONNECT, if any. */
  check(socket: Socket): void {
    const connection = socket.conn as AddressedConnection;
    const refusal = connection[REFUSAL];
    if (refusal !== undefined) throw refusal;
    const connects = (connection[CONNECTS] ?? 0) + 1;
    connection[CONNECTS] = connects;
    const address = connection[ADDRESS];
    // The engine.io handshake was counted when the connection opened: its first CONNECT is that attempt.
    if (connects === 1 || address === undefined) return;
    const rateLimited = this.limits.chargeHandshake(address);
    if (rateLimited !== null) throw rateLimited;
  }

  /**
   * After the middleware refused `socket` (and called `next` with the error): a connection refused
   * for its address is closed. socket.io writes the CONNECT_ERROR on the next tick; this close comes
   * on the one after, and engine.io sends what is queued before closing.
   */
  closeIfRefused(socket: Socket): void {
    const connection = socket.conn as AddressedConnection;
    if (connection[REFUSAL] === undefined) return;
    process.nextTick(() => connection.close());
  }

  private admit(connection: AddressedConnection): void {
    const address = this.limits.addressOf(connection.request);
    const refusal = this.limits.admit(address);
    if (refusal !== null) {
      connection[REFUSAL] = refusal;
      const timer = setTimeout(() => connection.close(), REFUSED_CONNECTION_LINGER_MS);
      timer.unref();
      connection.once('close', () => clearTimeout(timer));
      return;
    }
    this.limits.hold(address);
    connection[ADDRESS] = address;
    connection.once('close', this.releaseOnClose);
  }
}
