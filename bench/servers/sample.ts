// The product: the sample app (RealtimeModule on its embedded defaults: SQLite, in-process fan-out),
// with rate limits raised so that the load generator is not refused, and logging off. As a node of
// the scale-out group (bench/scenarios/scaleout.ts): BENCH_REDIS_URL adds `redis: { url }`, and
// BENCH_DATA_DIR is a database folder shared with the other node, which the orchestrator removes.
import { mkdtempSync, rmSync } from 'fs';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { ConnectionRegistry } from 'nest-realtime';
import { createSampleApp } from '../../apps/sample/src/create-app';
import { announceReady, BENCH_ROOM, BENCH_SECRET, serveUsage } from '../bench-protocol';

async function main(): Promise<void> {
  const redisUrl = process.env.BENCH_REDIS_URL;
  const sharedDir = process.env.BENCH_DATA_DIR;
  const dataDir = sharedDir ?? mkdtempSync(join(tmpdir(), 'rt-bench-'));
  const app = await createSampleApp(
    {
      port: 0,
      dataDir,
      databaseUrl: null,
      jwtSecret: BENCH_SECRET,
      jwtExpiresInSec: 3600,
      adminUsers: [],
      streamPort: null,
    },
    {
      limits: {
        rateLimit: { perMinute: 10_000_000, perHour: 10_000_000 },
        maxConnections: 100_000,
        maxConnectionsPerUser: 100_000,
        // The load generator opens every connection from 127.0.0.1, except in the connections group
        // (BENCH_DEFAULT_ADDRESS_LIMITS=1): it spreads them over loopback source addresses, few enough
        // per address that the library's default per-address limits refuse none, and keeps them.
        ...(process.env.BENCH_DEFAULT_ADDRESS_LIMITS === '1'
          ? {}
          : { maxConnectionsPerIp: 100_000, maxHandshakesPerSecondPerIp: 100_000 }),
      },
      rooms: { initial: [{ name: 'general' }, { name: BENCH_ROOM }] },
      ...(redisUrl ? { redis: { url: redisUrl } } : {}),
    },
    false,
  );
  await app.listen(0, '127.0.0.1');
  const registry = app.get(ConnectionRegistry);
  // The database of one run is removed with it (every run starts from an empty one); a shared one
  // by the orchestrator, once both nodes have stopped.
  serveUsage(
    () => registry.size,
    async () => {
      await app.close();
      if (sharedDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  );
  announceReady(((app.getHttpServer() as Server).address() as AddressInfo).port);
}

void main();
