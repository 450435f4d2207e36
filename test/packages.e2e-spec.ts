// The installable packages as users get them: `npm run pack`'s tarballs hold built JavaScript with its
// typings, their manifests point at files that exist, no spec or test helper ships, and every module
// the built code loads is declared (the build refuses otherwise: checked here on planted mistakes).
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const ROOT = join(__dirname, '..');
const SCRIPT = join(ROOT, 'scripts/build-packages.mjs');

interface Manifest {
  name: string;
  version: string;
  main: string;
  types: string;
  license: string;
  engines: { node: string };
  files: string[];
  exports: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** The files of a tarball, without npm's `package/` prefix. */
function tarballFiles(tarball: string): string[] {
  return execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((file) => file.replace(/^package\//, ''));
}

function tarballManifest(tarball: string): Manifest {
  return JSON.parse(
    execFileSync('tar', ['xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }),
  ) as Manifest;
}

/** Every path a manifest points at: main, types, and each `exports` target. */
function manifestTargets(manifest: Manifest): string[] {
  const targets = [manifest.main, manifest.types];
  for (const target of Object.values(manifest.exports)) {
    targets.push(...(typeof target === 'string' ? [target] : Object.values(target)));
  }
  return targets.map((target) => target.replace(/^\.\//, ''));
}

/** Runs the build script's own dependency check on a folder of built files. */
function problemsOf(manifest: Partial<Manifest>, dist: string): string[] {
  const code = `import(${JSON.stringify(SCRIPT)}).then((m) => console.log(JSON.stringify(m.dependencyProblems(${JSON.stringify(manifest)}, ${JSON.stringify(dist)}))))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8' })) as string[];
}

describe('installable packages (npm run pack)', () => {
  let out: string;
  let tarballs: Map<string, string>;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'rt-pack-'));
    execFileSync(process.execPath, [SCRIPT, '--pack', '--out', out], { cwd: ROOT, stdio: 'pipe' });
    const dir = join(out, 'packages');
    tarballs = new Map(
      readdirSync(dir).map((file) => [tarballManifest(join(dir, file)).name, join(dir, file)]),
    );
  }, 180_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes one tarball for the server library and one for the SDK', () => {
    expect([...tarballs.keys()].sort()).toEqual(['nest-realtime', 'nest-realtime-client']);
    for (const [name, tarball] of tarballs) {
      const manifest = tarballManifest(tarball);
      expect(tarball.endsWith(`${name}-${manifest.version}.tgz`)).toBe(true);
      expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(manifest.license).toBe('MIT');
      expect(manifest.engines.node).toBeDefined();
    }
  });

  it.each(['nest-realtime', 'nest-realtime-client'])(
    '%s ships JavaScript, typings, README, LICENSE and CHANGELOG, and no source, spec or test helper',
    (name) => {
      const tarball = tarballs.get(name) as string;
      const files = tarballFiles(tarball);
      const manifest = tarballManifest(tarball);
      for (const target of manifestTargets(manifest)) expect(files).toContain(target);
      expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']));
      expect(files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
      expect(files.filter((file) => /spec/.test(file))).toEqual([]);
      // Source maps ship only inside bundles that embed their sources.
      for (const map of files.filter((file) => file.endsWith('.map'))) {
        const parsed = JSON.parse(
          execFileSync('tar', ['xzOf', tarball, `package/${map}`], { encoding: 'utf8' }),
        ) as {
          sources: string[];
          sourcesContent?: string[];
        };
        expect(parsed.sourcesContent?.length).toBe(parsed.sources.length);
      }
    },
  );

  it('leaves members marked @internal out of the typings (TransportCounters keeps its public counters)', () => {
    const typings = execFileSync(
      'tar',
      [
        'xzOf',
        tarballs.get('nest-realtime') as string,
        'package/dist/core/metrics/transport-counters.service.d.ts',
      ],
      { encoding: 'utf8' },
    );
    expect(typings).toContain('snapshot(): TransportCounterSnapshot;');
    expect(typings).not.toMatch(/monitorEndpoint|monitorOf|RawWsMonitor/);
  });

  it('declares the host’s shared packages as peers, for Nest 11 and 12, and takes socket.io from the host', () => {
    const server = tarballManifest(tarballs.get('nest-realtime') as string);
    for (const peer of [
      '@nestjs/common',
      '@nestjs/core',
      '@nestjs/websockets',
      '@nestjs/platform-socket.io',
    ]) {
      expect(server.peerDependencies?.[peer]).toBe('^11.0.0 || ^12.0.0');
    }
    for (const peer of [
      'typeorm',
      'rxjs',
      'reflect-metadata',
      'class-validator',
      'class-transformer',
      'socket.io',
    ]) {
      expect(server.peerDependencies?.[peer]).toBeDefined();
      expect(server.dependencies?.[peer]).toBeUndefined();
    }
    // Optional: the host's @nestjs/platform-socket.io brings the one copy (npm would otherwise add a
    // second, newer one beside its exact pin, and the adapter's types would then meet two copies).
    expect(server.peerDependencies?.['socket.io']).toMatch(/^\^/);
    for (const optional of ['ioredis', '@socket.io/redis-adapter', 'pg', 'better-sqlite3', 'socket.io']) {
      expect(server.peerDependenciesMeta?.[optional]?.optional).toBe(true);
    }
  });

  it('the SDK carries the wire types inside and loads from CommonJS and from an ES module', () => {
    const tarball = tarballs.get('nest-realtime-client') as string;
    const files = tarballFiles(tarball);
    expect(files).toContain('dist/protocol/rooms.protocol.d.ts');
    expect(
      execFileSync('tar', ['xzOf', tarball, 'package/dist/index.d.ts'], { encoding: 'utf8' }),
    ).not.toContain('nest-realtime/');
    // Unpacked inside the repository, so that its own dependencies resolve from the root node_modules.
    mkdirSync(join(ROOT, 'dist'), { recursive: true });
    const host = mkdtempSync(join(ROOT, 'dist', '.sdk-load-'));
    try {
      const target = join(host, 'node_modules/nest-realtime-client');
      mkdirSync(target, { recursive: true });
      execFileSync('tar', ['xzf', tarball, '-C', target, '--strip-components=1']);
      const probe = 'typeof RoomsClient + " " + RealtimeErrorCode.RATE_LIMITED';
      const cjs = execFileSync(
        process.execPath,
        [
          '-e',
          `const { RoomsClient, RealtimeErrorCode } = require('nest-realtime-client'); console.log(${probe})`,
        ],
        { cwd: host, encoding: 'utf8' },
      );
      const esm = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { RoomsClient, RealtimeErrorCode } from 'nest-realtime-client'; console.log(${probe})`,
        ],
        { cwd: host, encoding: 'utf8' },
      );
      expect(cjs.trim()).toBe('function RATE_LIMITED');
      expect(esm.trim()).toBe('function RATE_LIMITED');
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  describe('the dependency check over built output', () => {
    let dist: string;
    beforeEach(() => {
      dist = mkdtempSync(join(tmpdir(), 'rt-depcheck-'));
      mkdirSync(join(dist, 'inner'));
    });
    afterEach(() => rmSync(dist, { recursive: true, force: true }));

    it('names a module that the JavaScript loads and package.json does not declare', () => {
      writeFileSync(join(dist, 'index.js'), 'require("./inner/a"); require("node:fs"); require("path");');
      writeFileSync(
        join(dist, 'inner/a.js'),
        'const x = require("left-pad"); require("@scope/pkg/deep/file");',
      );
      writeFileSync(join(dist, 'index.d.ts'), 'export {};');
      expect(problemsOf({ name: 'demo', dependencies: { '@scope/pkg': '1' } }, dist)).toEqual([
        'demo: inner/a.js loads "left-pad", which package.json does not declare',
      ]);
    });

    it('names a type imported from an optional peer or an undeclared package, in typings the entry reaches', () => {
      writeFileSync(join(dist, 'index.js'), '');
      writeFileSync(join(dist, 'index.d.ts'), 'export * from "./inner/a";');
      writeFileSync(
        join(dist, 'inner/a.d.ts'),
        'import type { Redis } from "ioredis"; export type A = import("lost").B;',
      );
      writeFileSync(join(dist, 'inner/unreached.d.ts'), 'import type { X } from "never-read";');
      const manifest = {
        name: 'demo',
        peerDependencies: { ioredis: '5' },
        peerDependenciesMeta: { ioredis: { optional: true } },
      };
      expect(problemsOf(manifest, dist).sort()).toEqual([
        'demo: inner/a.d.ts imports types from "lost", which package.json does not declare',
        'demo: inner/a.d.ts imports types from the optional peer "ioredis"',
      ]);
    });

    it('accepts types from an optional peer that a required peer installs (socket.io with @nestjs/platform-socket.io)', () => {
      writeFileSync(join(dist, 'index.js'), '');
      writeFileSync(
        join(dist, 'index.d.ts'),
        'import type { Server } from "socket.io"; export type S = Server;',
      );
      const manifest = (required: boolean) => ({
        name: 'demo',
        peerDependencies: { 'socket.io': '^4.7.0', '@nestjs/platform-socket.io': '^11.0.0' },
        peerDependenciesMeta: {
          'socket.io': { optional: true },
          '@nestjs/platform-socket.io': { optional: !required },
        },
      });
      expect(problemsOf(manifest(true), dist)).toEqual([]);
      expect(problemsOf(manifest(false), dist)).toEqual([
        'demo: index.d.ts imports types from the optional peer "socket.io"',
      ]);
    });

    it('passes on the real build: the packages written above were checked', () => {
      const server = JSON.parse(readFileSync(join(ROOT, 'libs/realtime/package.json'), 'utf8')) as Manifest;
      expect(problemsOf(server, join(out, 'pack/nest-realtime/dist'))).toEqual([]);
      const client = JSON.parse(
        readFileSync(join(ROOT, 'libs/realtime-client/package.json'), 'utf8'),
      ) as Manifest;
      expect(problemsOf(client, join(out, 'pack/nest-realtime-client/dist'))).toEqual([]);
    });
  });
});
