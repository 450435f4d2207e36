// `stream.port`: the seed's clients connect to ws://host:3001, so the stream is also served at '/'
// on a port of its own. Only WebSocket upgrades at '/' are served there (routed to the same
// endpoint as `paths.logs`); anything else gets 404. Bound at bootstrap, so a busy port fails the boot.
// An upgrade not sent in full within `stream.authTimeoutMs` is closed (the host's port follows the host's
// server settings instead; docs/limits.md).
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { createServer, type IncomingMessage, type Server } from 'http';
import type { Duplex } from 'stream';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { ConnectionLifecycle } from '../core/transport/connection-lifecycle.service';

/** How often the stream port's server looks for requests past their timeout. */
export const STREAM_PORT_CHECK_INTERVAL_MS = 1000;

@Injectable()
export class StreamPortListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('LogStream');
  private server: Server | null = null;

  constructor(
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly lifecycle: ConnectionLifecycle,
  ) {}

  /** The bound port (useful with `stream.port: 0`), or null when not listening. */
  get port(): number | null {
    const address = this.server?.address();
    return typeof address === 'object' && address !== null ? address.port : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { port, host } = this.options.stream;
    if (port === null) return;
    const endpoint = this.lifecycle.endpoint('@logs');
    if (!endpoint) {
      throw new Error(
        'RealtimeModule: stream.port needs the log stream gateway served by RealtimeAdapter ' +
          '(app.useWebSocketAdapter(new RealtimeAdapter(app)))',
      );
    }
    // A request whose headers (an upgrade's included) are not complete within the authentication
    // delay gets 408 and is closed: the port holds no half-sent upgrade or silent socket for longer
    // than authTimeoutMs + one check. Node's defaults would be 60 s, checked every 30 s.
    const { authTimeoutMs } = this.options.stream;
    const timeouts = {
      headersTimeout: authTimeoutMs,
      requestTimeout: authTimeoutMs,
      connectionsCheckingInterval: Math.min(STREAM_PORT_CHECK_INTERVAL_MS, authTimeoutMs),
    };
    const server = createServer(timeouts, (_request, response) => {
      response.writeHead(404, { 'Content-Type': 'application/json' });
      response.end(
        JSON.stringify({ statusCode: 404, message: 'Only WebSocket connections at / are served here' }),
      );
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = request.url ?? '/';
      const pathname = url.split('?', 1)[0];
      if (pathname === '/' || pathname === '') {
        endpoint.handleUpgrade(request, socket, head);
        return;
      }
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise<void>((resolvePromise, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        const where = `${host ?? '*'}:${port}`;
        const reason = error.code === 'EADDRINUSE' ? 'the port is already in use' : error.message;
        reject(new Error(`RealtimeModule: cannot serve the log stream on stream.port ${where}: ${reason}`));
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolvePromise();
      });
    });
    server.on('error', (error) => this.logger.error(`Log stream port: ${error.message}`));
    this.server = server;
    this.logger.log(`Log stream also served on port ${String(this.port)}`);
  }

  beforeApplicationShutdown(): void {
    // Stops accepting now. Upgraded sockets are the endpoint's: RealtimeAdapter closes them after
    // the hooks, so the close callback is not awaited here (it would wait for them).
    this.server?.close();
    this.server?.closeAllConnections();
    this.server = null;
  }
}
