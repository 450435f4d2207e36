// A real redis-server (Debian's, installed by .ci/run) on a free loopback port, for scale-out specs.
import { spawn, type ChildProcess } from 'child_process';
import { Redis } from 'ioredis';
import { freePort } from './free-port';

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

async function answersPing(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts redis-server without persistence; throws a clear error when it is not installed. */
export async function startRedis(timeoutMs = 10_000): Promise<RedisServer> {
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const url = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && child.exitCode === null) {
      const failed = await Promise.race([
        spawnError,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 50)),
      ]);
      if (failed) {
        throw new Error(
          `redis-server could not start (${failed.message}); .ci/run installs it with apt-get install redis-server`,
        );
      }
      if (await answersPing(url)) return { url, stop: () => stopProcess(child) };
    }
    await stopProcess(child);
  }
  throw new Error(`redis-server did not answer PING within ${timeoutMs} ms`);
}
