// Support for the client SDK specs: a sample app that can be stopped and started again on the same
// port with the same SQLite files, a WebSocket class whose connections can be held back, and a
// bounded wait on SDK state changes.
import type { INestApplication } from '@nestjs/common';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';
import WebSocket from 'ws';
import type { RealtimeModuleOptions } from 'nest-realtime';
import type { ConnectionState, StateChange, WebSocketConstructor } from 'nest-realtime-client';
import { createSampleApp } from '../../apps/sample/src/create-app';
import type { SampleConfig } from '../../apps/sample/src/sample.config';
import type { LoginResult } from '../../apps/sample/src/auth/auth.service';
import { TEST_SECRET } from './sample-app';

/** Limits loose enough for the SDK specs and the bot fleet (the defaults allow 10 messages a minute). */
export const CLIENT_TEST_LIMITS: Partial<RealtimeModuleOptions> = {
  limits: { rateLimit: { perMinute: 100_000, perHour: 1_000_000 } },
};

export class RestartableSample {
  private app: INestApplication | undefined;
  private portNumber = 0;
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'rt-client-e2e-'));

  constructor(private readonly overrides: Partial<RealtimeModuleOptions> = CLIENT_TEST_LIMITS) {}

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`;
  }

  get running(): boolean {
    return this.app !== undefined;
  }

  get application(): INestApplication {
    if (!this.app) throw new Error('sample app is stopped');
    return this.app;
  }

  /** Starts the app: on a free port the first time, then on the same port, with the same data folder. */
  async start(): Promise<void> {
    const config: SampleConfig = {
      port: this.portNumber,
      dataDir: this.dataDir,
      databaseUrl: null,
      jwtSecret: TEST_SECRET,
      jwtExpiresInSec: 3600,
      adminUsers: [],
      streamPort: null,
    };
    const app = await createSampleApp(config, this.overrides, false);
    await app.listen(this.portNumber, '127.0.0.1');
    this.portNumber = ((app.getHttpServer() as Server).address() as AddressInfo).port;
    this.app = app;
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    await app?.close();
  }

  async login(username: string, extra: { appId?: string } = {}): Promise<LoginResult> {
    const response = await request(this.url)
      .post('/auth/login')
      .send({ username, ...extra })
      .expect(200);
    return response.body as LoginResult;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A WebSocket class (backed by `ws`) whose new connections are refused while the gate is closed. */
export class ConnectionGate {
  open = true;
  attempts = 0;
  /** Frame types sent by the client through this class, in order. */
  readonly sentTypes: string[] = [];

  readonly WebSocket: WebSocketConstructor;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const gate = this;
    class GatedWebSocket extends WebSocket {
      constructor(url: string) {
        gate.attempts += 1;
        // Port 1 on loopback refuses the connection, as a server that is down does.
        super(gate.open ? url : url.replace(/^(wss?:\/\/[^/:]+):\d+/, '$1:1'));
      }

      override send(data: string): void {
        gate.sentTypes.push((JSON.parse(data) as { type: string }).type);
        super.send(data);
      }
    }
    this.WebSocket = GatedWebSocket;
  }
}

/** Records every state change of a client. */
export function recordStates(client: { onStateChange(listener: (change: StateChange) => void): () => void }) {
  const states: ConnectionState[] = [];
  client.onStateChange(({ to }) => states.push(to));
  return states;
}

/** Resolves when the client reaches `state`; rejects after a bounded wait. */
export function reachState(
  client: { state: ConnectionState; onStateChange(listener: (change: StateChange) => void): () => void },
  state: ConnectionState,
  timeoutMs = 10_000,
): Promise<StateChange | undefined> {
  if (client.state === state) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`state ${state} not reached within ${timeoutMs} ms (now ${client.state})`));
    }, timeoutMs);
    const off = client.onStateChange((change) => {
      if (change.to !== state) return;
      clearTimeout(timer);
      off();
      resolve(change);
    });
  });
}

/** Resolves once `predicate` holds, polling, bounded. */
export async function eventually(
  predicate: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
