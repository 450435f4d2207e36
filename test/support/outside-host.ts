// Host applications outside the repository: the packed tarballs installed the way the README says,
// in a fresh Nest application of a given major, compiled with the host's own compiler and run as a
// child process. Every command has a bounded time and fails with its output.
import { spawn, type ChildProcess } from 'child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

export const ROOT = join(__dirname, '..', '..');
export const EXAMPLE_HOST = join(ROOT, 'examples/host-app');

export interface Tarballs {
  server: string;
  client: string;
}

/** Every process this module started and that has not exited yet (each leads its own process group). */
const live = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Kills a child and what it started (npm's install scripts, the compiler): its process group. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** Kills every process this module started that is still running (for afterAll). */
export function killStarted(): void {
  for (const child of live) killGroup(child);
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CommandOptions {
  cwd: string;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * The environment of a command run in a host: the test's own, without the `npm_*` variables that
 * `npm test` sets (they would point npm at the repository), with audit and funding notices off.
 */
export function hostEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'INIT_CWD') env[key] = value;
  }
  return { ...env, npm_config_audit: 'false', npm_config_fund: 'false', NO_COLOR: '1', ...extra };
}

/** The last `max` characters of a command's output, for error messages. */
function tail(text: string, max = 6000): string {
  return text.length > max ? `…${text.slice(-max)}` : text;
}

/** Runs a command to completion; rejects with its exit status and output if it fails or times out. */
export function run(command: string, args: string[], options: CommandOptions): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? hostEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      if (code === 0 && !timedOut) {
        resolve({ stdout, stderr, ms });
        return;
      }
      const how = timedOut ? `timed out after ${options.timeoutMs} ms` : `exited with ${code ?? signal}`;
      reject(
        new Error(
          `\`${[command, ...args].join(' ')}\` in ${options.cwd} ${how}\n--- stdout\n${tail(stdout)}\n--- stderr\n${tail(stderr)}`,
        ),
      );
    });
  });
}

/** Builds both packages and packs them into `outDir/packages`; returns the tarballs' absolute paths. */
export async function packTarballs(outDir: string): Promise<Tarballs> {
  await run(process.execPath, [join(ROOT, 'scripts/build-packages.mjs'), '--pack', '--out', outDir], {
    cwd: ROOT,
    timeoutMs: 5 * 60_000,
  });
  const dir = join(outDir, 'packages');
  const names = readdirSync(dir);
  const find = (pattern: RegExp): string => {
    const name = names.find((file) => pattern.test(file));
    if (!name)
      throw new Error(`no tarball matching ${String(pattern)} in ${dir} (have: ${names.join(', ')})`);
    return join(dir, name);
  };
  return {
    server: find(/^nest-realtime-\d+\.\d+\.\d+.*\.tgz$/),
    client: find(/^nest-realtime-client-\d.*\.tgz$/),
  };
}

/** The README's install commands: the first bash block of `## Installation`, and the SDK's command. */
export function readmeInstallCommands(readme: string): { server: string; client: string } {
  const section = /^## Installation\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "## Installation" section');
  const server = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!server) throw new Error('the Installation section of README.md has no ```bash block');
  const client = /`(npm install nest-realtime-client[^`]*)`/.exec(section)?.[1];
  if (!client)
    throw new Error('the Installation section of README.md does not give `npm install nest-realtime-client`');
  return { server, client };
}

/**
 * The command with the package `name` (as a standalone word: not part of a longer package name or
 * a path; with its `@version` if it has one) replaced by the tarball's path. Throws when the command
 * does not name the package.
 */
export function installFromTarball(command: string, name: string, tarball: string): string {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const word = new RegExp(`(?<![\\w@/.-])${escaped}(?:@[^\\s'"]+)?(?![\\w/.-])`, 'g');
  if (!word.test(command)) throw new Error(`the command does not install "${name}":\n${command}`);
  return command.replace(word, `'${tarball.replace(/'/g, `'\\''`)}'`);
}

export interface HostSpec {
  /** NestJS major: 11 or 12. */
  major: number;
  /** @nestjs/config range whose peers accept that major. */
  configRange: string;
}

export interface HostTimings {
  baseInstallMs: number;
  readmeInstallMs: number;
  clientInstallMs: number;
}

/**
 * A fresh Nest application of that major in `dir` (package.json, `npm install`), then the README's
 * install command and the SDK's, with the tarballs in place of the registry names, then the example
 * host's sources copied in.
 */
export async function createHost(dir: string, spec: HostSpec, tarballs: Tarballs): Promise<HostTimings> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const commands = readmeInstallCommands(readme);
  const pkg = {
    name: `host-nest${spec.major}`,
    version: '0.0.0',
    private: true,
    scripts: {
      build: 'tsc -p tsconfig.json && tsc -p client/tsconfig.json',
      start: 'node dist/main.js',
    },
    dependencies: {
      '@nestjs/common': `^${spec.major}.0.0`,
      '@nestjs/config': spec.configRange,
      '@nestjs/core': `^${spec.major}.0.0`,
      '@nestjs/platform-express': `^${spec.major}.0.0`,
      'reflect-metadata': '^0.2.0',
      rxjs: '^7.8.0',
    },
    devDependencies: { '@types/node': '^20.0.0', typescript: '~5.9.0' },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const timeoutMs = 8 * 60_000;
  const base = await run('npm', ['install'], { cwd: dir, timeoutMs });
  const script = installFromTarball(commands.server, 'nest-realtime', tarballs.server);
  const server = await run('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: dir, timeoutMs });
  const clientScript = installFromTarball(commands.client, 'nest-realtime-client', tarballs.client);
  const client = await run('bash', ['-e', '-o', 'pipefail', '-c', clientScript], { cwd: dir, timeoutMs });
  cpSync(EXAMPLE_HOST, dir, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|dist)([\\/]|$)/.test(src.slice(EXAMPLE_HOST.length)),
  });
  return { baseInstallMs: base.ms, readmeInstallMs: server.ms, clientInstallMs: client.ms };
}

export interface CompileResult {
  project: string;
  ok: boolean;
  /** The compiler's output (its diagnostics), or the error that stopped it. */
  output: string;
}

/**
 * Compiles the host with the host's own TypeScript: the server (tsconfig.json → dist/) and the client
 * check (client/tsconfig.json → dist/client/). Both are compiled even when the first fails (the
 * compiler still emits), so that the later steps can show what happens at run time.
 */
export async function compileHost(dir: string): Promise<CompileResult[]> {
  const tsc = join(dir, 'node_modules/typescript/bin/tsc');
  const results: CompileResult[] = [];
  for (const project of ['tsconfig.json', 'client/tsconfig.json']) {
    try {
      const { stdout, stderr } = await run(process.execPath, [tsc, '-p', project], {
        cwd: dir,
        timeoutMs: 3 * 60_000,
      });
      results.push({ project, ok: true, output: stdout + stderr });
    } catch (error) {
      results.push({ project, ok: false, output: error instanceof Error ? error.message : String(error) });
    }
  }
  return results;
}

export interface RunningHost {
  /** http://127.0.0.1:PORT */
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `node dist/main.js` on PORT=0 and resolves with the URL it prints once listening. */
export function startHost(dir: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<RunningHost> {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: dir,
    env: hostEnv({ PORT: '0', HOST: '127.0.0.1', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  track(child);
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const host = (url: string): RunningHost => ({
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`the host printed no "listening on" line within ${timeoutMs} ms:\n${tail(output)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      // eslint-disable-next-line no-control-regex
      const url = /listening on (http:\/\/[^\s]+)/.exec(output.replace(/\u001b\[[0-9;]*m/g, ''))?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(host(url.replace('[::1]', '127.0.0.1')));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the host exited (${code ?? signal}) before listening:\n${tail(output)}`));
    });
  });
}

export interface CheckResult {
  ok: boolean;
  error?: string;
  [detail: string]: unknown;
}

/** Runs the host's compiled client check (dist/client/check.js) for one check; returns its result. */
export async function runCheck(dir: string, name: string, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const { stdout } = await run(process.execPath, ['dist/client/check.js', name], {
    cwd: dir,
    env: hostEnv(env),
    timeoutMs: 60_000,
  });
  const line = stdout.trim().split('\n').pop() ?? '';
  const results = JSON.parse(line) as Record<string, CheckResult>;
  const result = results[name];
  if (!result) throw new Error(`the check printed no result for "${name}": ${line}`);
  return result;
}
