// Starts the real sample app on an ephemeral loopback port with its own temporary data folder.
import type { INestApplication } from '@nestjs/common';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';
import type { RealtimeModuleOptions } from 'nest-realtime';
import { createSampleApp } from '../../apps/sample/src/create-app';
import type { SampleConfig } from '../../apps/sample/src/sample.config';
import type { LoginResult } from '../../apps/sample/src/auth/auth.service';

export const TEST_SECRET = 'e2e-secret-for-tests-only-0123456789';

export interface RunningSample {
  app: INestApplication;
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  config: SampleConfig;
  login(username: string, extra?: { email?: string; appId?: string }): Promise<LoginResult>;
  close(): Promise<void>;
}

export interface StartOptions {
  overrides?: Partial<RealtimeModuleOptions>;
  config?: Partial<SampleConfig>;
}

/** The sample's settings for a test: a fresh data folder, the test secret, no stream port. */
export function testSampleConfig(overrides: Partial<SampleConfig> = {}): SampleConfig {
  return {
    port: 0,
    dataDir: overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'rt-e2e-')),
    databaseUrl: null,
    jwtSecret: TEST_SECRET,
    jwtExpiresInSec: 3600,
    adminUsers: [],
    streamPort: null,
    ...overrides,
  };
}

export async function startSample(options: StartOptions = {}): Promise<RunningSample> {
  const config = testSampleConfig(options.config);
  const dataDir = config.dataDir;
  const app = await createSampleApp(config, options.overrides ?? {}, false);
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  const url = `http://127.0.0.1:${address.port}`;
  return {
    app,
    url,
    port: address.port,
    config,
    async login(username, extra = {}) {
      const response = await request(url)
        .post('/auth/login')
        .send({ username, ...extra })
        .expect(200);
      return response.body as LoginResult;
    },
    async close() {
      await app.close();
      if (!options.config?.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
