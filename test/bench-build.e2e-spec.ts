// The benchmark's build step (bench/build.ts): the servers and generators run as compiled JavaScript,
// resolve `nest-realtime` to the compiled library, and do not load Node's `domain` module (which
// ts-node's register hook brings in and which wraps every EventEmitter.emit).
import { spawnSync } from 'child_process';
import { existsSync, readFileSync, rmSync } from 'fs';
import { join } from 'path';
import { buildBench } from '../bench/build';

const ROOT = join(__dirname, '..');

describe('benchmark build step', () => {
  const outDir = join(ROOT, '.bench-build', `spec-${process.pid}`);
  let tsconfig: string;

  beforeAll(() => {
    tsconfig = buildBench(ROOT, outDir);
  });

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('writes every server and generator, and no spec', () => {
    for (const script of [
      'servers/sample',
      'servers/bare-ws',
      'servers/bare-ws-framed',
      'servers/bare-socketio',
      'servers/uws',
      'loadgen',
    ]) {
      expect(existsSync(join(outDir, 'bench', `${script}.js`))).toBe(true);
    }
    expect(existsSync(join(outDir, 'libs/realtime/src/index.js'))).toBe(true);
    expect(existsSync(join(outDir, 'libs/realtime/src/protocol/envelope.spec.js'))).toBe(false);
  });

  it('maps the library aliases onto the compiled sources', () => {
    const config = JSON.parse(readFileSync(tsconfig, 'utf8')) as {
      compilerOptions: { baseUrl: string; paths: Record<string, string[]> };
    };
    expect(config.compilerOptions.baseUrl).toBe('.');
    expect(config.compilerOptions.paths['nest-realtime']).toEqual(['libs/realtime/src']);
  });

  it('runs the compiled library without ts-node and without the domain module', () => {
    const probe = [
      "const { encodeEnvelope } = require('nest-realtime');",
      "const frame = JSON.parse(encodeEnvelope('pong', { ok: true }));",
      "const domain = process.moduleLoadList.some((m) => m === 'NativeModule domain');",
      "const tsNode = Object.keys(require.cache).some((f) => f.includes('ts-node'));",
      'console.log(JSON.stringify({ type: frame.type, data: frame.data, domain, tsNode }));',
    ].join('\n');
    const result = spawnSync(process.execPath, ['-r', 'tsconfig-paths/register', '-e', probe], {
      cwd: outDir,
      env: { ...process.env, TS_NODE_PROJECT: tsconfig },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout.trim())).toEqual({
      type: 'pong',
      data: { ok: true },
      domain: false,
      tsNode: false,
    });
  });
});
