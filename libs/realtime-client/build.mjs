// Builds the browser bundles of the client SDK into dist/realtime-client/ (or `--outdir DIR`): an ES module and an IIFE
// exposing the global `NestRealtimeClient`. The wire types are resolved from the server's protocol
// folder (nest-realtime/protocol); the Node-only WebSocket fallback (`ws`) is swapped for its browser
// stub, so neither `ws` nor any Nest code enters the bundle.
import { build } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const outdirFlag = process.argv.indexOf('--outdir');
const outdir = outdirFlag > 0 ? resolve(process.argv[outdirFlag + 1]) : resolve(root, 'dist/realtime-client');

/** Browser substitutions: the protocol alias, and no `ws` fallback. */
const browserResolution = {
  name: 'nest-realtime-browser',
  setup(builder) {
    builder.onResolve({ filter: /^nest-realtime\/protocol$/ }, () => ({
      path: resolve(root, 'libs/realtime/src/protocol/index.ts'),
    }));
    builder.onResolve({ filter: /^nest-realtime(\/.*)?$/ }, (args) => ({
      errors: [{ text: `only nest-realtime/protocol may be imported by the client (got ${args.path})` }],
    }));
    builder.onResolve({ filter: /\/node-websocket$/ }, () => ({
      path: resolve(here, 'src/websocket/browser-websocket.ts'),
    }));
    builder.onResolve({ filter: /^(ws|@nestjs\/.*)$/ }, (args) => ({
      errors: [{ text: `${args.path} must not enter the browser bundle (imported by ${args.importer})` }],
    }));
  },
};

const common = {
  entryPoints: [resolve(here, 'src/index.ts')],
  bundle: true,
  platform: 'browser',
  target: 'es2020',
  sourcemap: true,
  tsconfig: resolve(here, 'tsconfig.lib.json'),
  plugins: [browserResolution],
  logLevel: 'warning',
  legalComments: 'none',
};

await Promise.all([
  build({ ...common, format: 'esm', outfile: resolve(outdir, 'realtime-client.mjs') }),
  build({
    ...common,
    format: 'iife',
    globalName: 'NestRealtimeClient',
    outfile: resolve(outdir, 'realtime-client.iife.js'),
  }),
]);
console.log(`client bundles written to ${outdir}`);
