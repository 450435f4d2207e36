// HAProxy (Debian's, installed by .ci/run) running deploy/haproxy.cfg as users run it, in the
// foreground (-db), with the node addresses and a free loopback port given through its environment.
import { spawn, type ChildProcess } from 'child_process';
import { get } from 'http';
import { join } from 'path';
import { freePort } from './free-port';

export const HAPROXY_CONFIG = join(__dirname, '..', '..', 'deploy', 'haproxy.cfg');

export interface HaproxyOptions {
  /** host:port of each node, in order: NODE1_ADDR, NODE2_ADDR, … */
  nodes: string[];
  /** HEALTH_CHECK_INTERVAL. @default '1s' */
  healthCheckInterval?: string;
  /** Bound on the start, up to the first answer of GET /health through it. @default 10000 */
  startTimeoutMs?: number;
}

export interface Haproxy {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** HAProxy's log lines (node state changes, alerts), for failure messages. */
  output(): string;
  /** Stops it (SIGTERM, SIGKILL after 5 s). Safe twice. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/health', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/bin',
    HAPROXY_BIND: `127.0.0.1:${port}`,
    HEALTH_CHECK_INTERVAL: options.healthCheckInterval ?? '1s',
  };
  options.nodes.forEach((address, index) => (env[`NODE${index + 1}_ADDR`] = address));
  const lines: string[] = [];
  const child = spawn('haproxy', ['-f', HAPROXY_CONFIG, '-db'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const reap = (): void => {
    if (!exited(child)) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));

  const output = (): string => lines.join('\n');
  const stop = async (): Promise<void> => {
    if (exited(child)) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.kill('SIGTERM');
    await done;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  while (!(await answers(port))) {
    if (spawnError) {
      throw new Error(
        `haproxy could not start (${spawnError.message}); .ci/run installs it with apt-get install haproxy`,
      );
    }
    if (exited(child))
      throw new Error(`haproxy exited with ${child.exitCode ?? child.signalCode}\n${output()}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy did not answer GET /health on 127.0.0.1:${port} in time\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `http://127.0.0.1:${port}`, port, output, stop };
}
