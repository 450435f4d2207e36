// HAProxy (Debian's, installed by .ci/run) running deploy/haproxy.cfg as users run it, in the
// foreground (-db), with the node addresses and a free loopback port given through its environment.
import { spawn } from 'child_process';
import { get } from 'http';
import { join } from 'path';
import { freePort } from './free-port';
import { supervise } from './supervised-process';

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
  const child = spawn('haproxy', ['-f', HAPROXY_CONFIG, '-db'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const haproxy = supervise(child, 5000);
  const { output, stop } = haproxy;

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  while (!(await answers(port))) {
    const spawnError = haproxy.spawnError();
    if (spawnError) {
      throw new Error(
        `haproxy could not start (${spawnError.message}); .ci/run installs it with apt-get install haproxy`,
      );
    }
    if (haproxy.exited())
      throw new Error(`haproxy exited with ${child.exitCode ?? child.signalCode}\n${output()}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy did not answer GET /health on 127.0.0.1:${port} in time\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `http://127.0.0.1:${port}`, port, output, stop };
}
