// The packages installed in other people's Nest applications: the tarballs `npm pack` would publish
// go into two fresh host applications outside the repository, one on NestJS 11 and one on NestJS 12,
// through the README's own install command. Each host (examples/host-app) is compiled by its own
// TypeScript with strict settings and full library checking, booted as a child process, and probed by
// its compiled client check (examples/host-app/client/check.ts), which uses the host's installed
// nest-realtime-client, socket.io-client and ws: a Socket.IO event from a host controller, a raw
// WebSocket room round trip, a log POSTed and streamed, and a RoomsClient round trip.
//
// Each step is its own test; a step whose prerequisite failed says which one. Slow: the README
// installs better-sqlite3, which builds from source (the two hosts install concurrently).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  compileHost,
  createHost,
  EXAMPLE_HOST,
  killStarted,
  packTarballs,
  ROOT,
  runCheck,
  startHost,
  type CheckResult,
  type CompileResult,
  type HostSpec,
  type HostTimings,
  type RunningHost,
  type Tarballs,
} from './support/outside-host';

jest.setTimeout(15 * 60_000);

const JWT_SECRET = 'outside-host-e2e-secret-0123456789abcdef';
const APP_ID = 'host-app';

/** The @nestjs/config a freshly generated app of each major gets (its peers accept that major). */
const HOSTS: HostSpec[] = [
  { major: 11, configRange: '^4.0.0' }, // peers: @nestjs/common ^10 || ^11
  { major: 12, configRange: '^12.0.0' }, // peers: @nestjs/common ^11 || ^12
];

interface HostRun {
  dir: string;
  install: Promise<HostTimings>;
  compile: Promise<CompileResult[]>;
  boot: Promise<RunningHost>;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The next step's promise when `previous` failed: a rejection naming the step that failed. */
function blockedBy(step: string) {
  return (error: unknown): never => {
    throw new Error(`not run: the "${step}" step failed (${message(error).split('\n')[0] ?? ''})`);
  };
}

/** The check's details; a failed check fails the test with the client's error. */
function passed(result: CheckResult): CheckResult {
  if (!result.ok) throw new Error(`the client check failed:\n${result.error ?? JSON.stringify(result)}`);
  return result;
}

function packageVersion(dir: string, name: string): string {
  const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

describe('nest-realtime installed from its tarballs in Nest applications outside the repository', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nest-realtime-hosts-'));
  const runs = new Map<number, HostRun>();
  let tarballs: Promise<Tarballs>;

  function hostRun(major: number): HostRun {
    const found = runs.get(major);
    if (!found) throw new Error(`no host for NestJS ${major}`);
    return found;
  }

  beforeAll(() => {
    tarballs = packTarballs(join(tmp, 'out'));
    // Both hosts install at once (sharing npm's cache); each test below awaits its step.
    for (const spec of HOSTS) {
      const dir = join(tmp, `nest${spec.major}-host`);
      mkdirSync(dir);
      const install = tarballs.catch(blockedBy('pack')).then((packed) => createHost(dir, spec, packed));
      const compile = install.catch(blockedBy('install')).then(() => compileHost(dir));
      // The compiler emits despite type errors: the host still boots, so a type error alone does
      // not hide what happens at run time (the compile test fails on its own).
      const boot = compile.then(() => {
        if (!existsSync(join(dir, 'dist/main.js'))) throw new Error('the compiler wrote no dist/main.js');
        return startHost(dir, { JWT_SECRET, DATABASE_PATH: join(dir, 'data/realtime.sqlite') });
      });
      // Awaited by the tests; these keep a failure from being reported as unhandled meanwhile.
      for (const step of [install, compile, boot]) void step.catch(() => undefined);
      runs.set(spec.major, { dir, install, compile, boot });
    }
  });

  afterAll(async () => {
    await Promise.all(
      [...runs.values()].map(async ({ boot }) => {
        const running = await boot.catch(() => undefined);
        await running?.stop();
      }),
    );
    killStarted();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('packs both packages into a temporary folder', async () => {
    const packed = await tarballs;
    const version = (
      JSON.parse(readFileSync(join(ROOT, 'libs/realtime/package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    expect(packed.server).toBe(join(tmp, 'out/packages', `nest-realtime-${version}.tgz`));
    expect(existsSync(packed.client)).toBe(true);
  });

  it('keeps the example host strict: full library checks, strict mode, CommonJS output', () => {
    const tsconfig = JSON.parse(readFileSync(join(EXAMPLE_HOST, 'tsconfig.json'), 'utf8')) as {
      compilerOptions: Record<string, unknown>;
    };
    expect(tsconfig.compilerOptions).toMatchObject({
      strict: true,
      skipLibCheck: false,
      module: 'commonjs',
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
      target: 'ES2022',
    });
  });

  describe.each(HOSTS.map((spec) => spec.major))('NestJS %i host', (major) => {
    const check = async (name: string): Promise<CheckResult> => {
      const { dir, boot } = hostRun(major);
      const host = await boot.catch(blockedBy('boot'));
      return passed(await runCheck(dir, name, { HOST_URL: host.url, JWT_SECRET, APP_ID }));
    };

    it('installs with the README command (the tarballs in place of the registry names)', async () => {
      const { dir, install } = hostRun(major);
      await install;
      expect(packageVersion(dir, '@nestjs/core').split('.')[0]).toBe(String(major));
      expect(packageVersion(dir, '@nestjs/websockets').split('.')[0]).toBe(String(major));
      expect(packageVersion(dir, 'nest-realtime')).toBe(
        (JSON.parse(readFileSync(join(ROOT, 'libs/realtime/package.json'), 'utf8')) as { version: string })
          .version,
      );
      expect(existsSync(join(dir, 'node_modules/nest-realtime-client/package.json'))).toBe(true);
      expect(existsSync(join(dir, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(
        true,
      );
      // The client's transports come with the SDK, not from a separate install.
      const sdk = join(dir, 'node_modules/nest-realtime-client');
      for (const name of ['socket.io-client', 'ws']) {
        expect(require.resolve(name, { paths: [sdk] }).startsWith(join(dir, 'node_modules'))).toBe(true);
      }
    });

    it('gives nest-realtime the socket.io copy @nestjs/platform-socket.io uses (one set of Server types)', async () => {
      const { dir, install } = hostRun(major);
      await install.catch(blockedBy('install'));
      const socketIoFrom = (pkg: string) => {
        const file = require.resolve('socket.io/package.json', { paths: [join(dir, 'node_modules', pkg)] });
        const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
        return `${version} at ${file.slice(dir.length + 1)}`;
      };
      expect(socketIoFrom('nest-realtime')).toBe(socketIoFrom('@nestjs/platform-socket.io'));
    });

    it("compiles with the host's own tsc (strict, skipLibCheck: false)", async () => {
      const results = await hostRun(major).compile.catch(blockedBy('install'));
      const failed = results.filter((result) => !result.ok);
      if (failed.length > 0) {
        throw new Error(
          failed.map((result) => `tsc -p ${result.project} failed:\n${result.output}`).join('\n\n'),
        );
      }
      expect(results.map((result) => result.project)).toEqual(['tsconfig.json', 'client/tsconfig.json']);
    });

    it('boots with RealtimeModule.forRootAsync and the RealtimeAdapter', async () => {
      const host = await hostRun(major).boot;
      expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(host.output()).toContain(join(hostRun(major).dir, 'data/realtime.sqlite'));
      expect(host.output()).toContain('Mapped {/apps/:appId/logs, POST} route');
    });

    it('Socket.IO: a client of page "dashboard" receives the event the host controller emits', async () => {
      const result = await check('socketIo');
      expect(result).toMatchObject({
        answer: { status: 202, body: { sent: true } },
        received: { title: 'Deployed' },
      });
    });

    it('raw WebSocket /ws/chat: join_room is acknowledged and a room_message comes back', async () => {
      const result = await check('rawRooms');
      expect(result).toMatchObject({
        ack: { type: 'join_room_ack', data: { room: 'general', success: true } },
        message: {
          type: 'room_message',
          data: { room: 'general', username: 'bob', content: 'hello over raw ws', message_type: 'text' },
        },
      });
    });

    it('log stream: a log POSTed to /apps/:appId/logs reaches /ws/logs', async () => {
      const result = await check('logStream');
      expect(result).toMatchObject({
        connect: { type: 'connect' },
        auth: { type: 'auth_success', payload: { appId: APP_ID, userId: '103' } },
        ingest: { status: 202, body: { accepted: 1 } },
      });
      const logs = result.logs as { payload: unknown[] };
      expect(logs.payload).toContainEqual(
        expect.objectContaining({ level: 'info', message: result.text, appId: APP_ID, userId: '103' }),
      );
    });

    it('nest-realtime-client RoomsClient: connects, joins a room, sends and receives a message', async () => {
      const result = await check('roomsClient');
      expect(result).toMatchObject({
        state: 'ACTIVE',
        ack: { room: 'general', success: true },
        sent: { room: 'general', content: result.text },
        received: { room: 'general', username: 'dora', content: result.text },
      });
    });
  });
});
