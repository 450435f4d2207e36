// The one `upgrade` listener of the host's HTTP server: each WebSocket upgrade goes to the raw ws
// endpoint of its path, is left to engine.io under a Socket.IO path, or is answered 404. (Nest's own
// adapters each destroy the upgrades they do not own, so two of them cannot share a port.)
import type { IncomingMessage, Server as HttpServer } from 'http';
import type { Duplex } from 'stream';
import type { RawWsServer } from './raw-ws-server';

export class UpgradeRouter {
  /** Raw ws endpoints by their path. */
  readonly rawServers = new Map<string, RawWsServer>();
  /** Socket.IO engine paths (engine.io answers the upgrades under them). */
  readonly ioPaths = new Set<string>();
  private routedServer: HttpServer | null = null;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void =>
    this.route(request, socket, head);

  /** Listens on the server's upgrades once (an application context has no HTTP server). */
  install(httpServer: HttpServer | undefined): void {
    if (this.routedServer) return;
    if (!httpServer || typeof httpServer.on !== 'function') return;
    httpServer.on('upgrade', this.onUpgrade);
    this.routedServer = httpServer;
  }

  uninstall(): void {
    this.routedServer?.off('upgrade', this.onUpgrade);
    this.routedServer = null;
  }

  private route(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query < 0 ? url : url.slice(0, query);
    const raw = this.rawServers.get(pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname);
    if (raw) {
      raw.handleUpgrade(request, socket, head);
      return;
    }
    for (const ioPath of this.ioPaths) {
      // engine.io owns "<path>/" (not "<path>" itself): it answers these.
      if (pathname.startsWith(ioPath === '/' ? '/' : ioPath + '/')) return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }
}
