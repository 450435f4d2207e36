// Stops the boot with the line to add when the host forgot RealtimeAdapter: without it Nest binds the
// library's gateways to its default IoAdapter, whose servers have no raw WebSocket routing and no
// handshake authentication, and every connection would then fail with no log line. Runs after Nest
// has bound the gateways (module init follows gateway registration).
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { MOUNTED_GATEWAYS } from '../../realtime.constants';
import { ConnectionLifecycle } from './connection-lifecycle.service';

/** Thrown at boot when the host's setup cannot serve the mounted gateways. */
export class RealtimeSetupError extends Error {
  constructor(message: string) {
    super(`RealtimeModule: ${message}`);
    this.name = 'RealtimeSetupError';
  }
}

@Injectable()
export class RealtimeAdapterCheck implements OnModuleInit {
  constructor(
    @Inject(MOUNTED_GATEWAYS) private readonly gateways: readonly string[],
    private readonly lifecycle: ConnectionLifecycle,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    // An application context (no HTTP server) binds no gateway: nothing to check.
    if (this.gateways.length === 0 || !this.adapterHost.httpAdapter) return;
    if (this.lifecycle.adapterBound) return;
    throw new RealtimeSetupError(
      `the ${this.gateways.join(', ')} gateway${this.gateways.length > 1 ? 's need' : ' needs'} RealtimeAdapter, ` +
        'and this application binds its gateways to another WebSocket adapter (Nest’s default IoAdapter when ' +
        'none is set). Add this line to main.ts, before app.listen():\n' +
        '  app.useWebSocketAdapter(new RealtimeAdapter(app)); // import { RealtimeAdapter } from "nest-realtime"\n' +
        'or turn the gateways off with RealtimeModule.forRoot({ gateways: { ... } }).',
    );
  }
}
