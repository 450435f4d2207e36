// The redis-server of the scale-out group: Debian's binary (as test/support/redis-server.ts starts
// it for the specs) on a free loopback port, without persistence, pinned to the servers' core. It is
// not a Node process, so its CPU comes from /proc/<pid>/stat, and what it did from INFO commandstats.
import { spawn, type ChildProcess } from 'child_process';
import { Redis } from 'ioredis';
import { freePort } from '../test/support/free-port';
import { pinnedCommand, procCpu, type CpuSample } from './runner';

const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
/** A port taken between the probe and redis-server's bind: try another one. */
const PORT_ATTEMPTS = 3;

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await done;
  clearTimeout(timer);
}

/** A connected client once the server answers PING; null (and no client left open) before that. */
async function answeringClient(url: string): Promise<Redis | null> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    if ((await client.ping()) === 'PONG') return client;
  } catch {
    // Not listening yet.
  }
  client.disconnect();
  return null;
}

/** `cmdstat_publish:calls=12,usec=...` lines of INFO commandstats, as calls per command. */
export function parseCommandCalls(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls[match[1]!] = Number(match[2]);
  }
  return calls;
}

export class RedisProcess {
  private constructor(
    private readonly child: ChildProcess,
    /** The orchestrator's own connection, for INFO only (a command or two per measured window). */
    private readonly client: Redis,
    readonly url: string,
  ) {}

  /** Starts redis-server and waits until it answers PING; a clear error when it is not installed. */
  static async start(): Promise<RedisProcess> {
    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt += 1) {
      const port = await freePort();
      const [command, args] = pinnedCommand(0, 'redis-server', [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--loglevel',
        'warning',
      ]);
      const child = spawn(command, args, { stdio: 'ignore' });
      const failed = new Promise<Error>((resolve) => child.once('error', resolve));
      const url = `redis://127.0.0.1:${port}`;
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (Date.now() < deadline && !exited(child)) {
        const error = await Promise.race([
          failed,
          new Promise<null>((resolve) => setTimeout(() => resolve(null), 50)),
        ]);
        if (error) {
          throw new Error(
            `redis-server could not start (${error.message}); .ci/run installs it with apt-get install redis-server`,
          );
        }
        const client = await answeringClient(url);
        if (client) return new RedisProcess(child, client, url);
      }
      await stopChild(child);
    }
    throw new Error(
      `redis-server did not answer PING (${PORT_ATTEMPTS} ports tried, ${START_TIMEOUT_MS} ms each); is it installed? .ci/run installs it with apt-get install redis-server`,
    );
  }

  /** Its CPU (every thread) so far, from /proc. */
  cpu(): CpuSample {
    if (this.child.pid === undefined) throw new Error('redis-server has no pid');
    return procCpu(this.child.pid);
  }

  /** Calls per command since it started (INFO itself included). */
  async commandCalls(): Promise<Record<string, number>> {
    return parseCommandCalls(await this.client.info('commandstats'));
  }

  async stop(): Promise<void> {
    this.client.disconnect();
    await stopChild(this.child);
  }
}
