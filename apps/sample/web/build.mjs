// Builds the sample's web pages into dist/sample-web/ (or `--outdir DIR`): the SDK's own browser build
// (global NestRealtimeClient) as sdk/, each page's TypeScript bundled by esbuild, the HTML and CSS
// copied. Run by `npm start` (prestart) and by the browser tests; about half a second.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const outdirFlag = process.argv.indexOf('--outdir');
const outdir = outdirFlag > 0 ? resolve(process.argv[outdirFlag + 1]) : resolve(root, 'dist/sample-web');
const started = Date.now();

/**
 * One script per page: src/pages/<page>.ts → <page>.js, loaded by <page>.html. CSS a page imports
 * (the logs page's uPlot stylesheet) is bundled into <page>.css, which its HTML links.
 */
const pages = readdirSync(resolve(here, 'src/pages')).filter((file) => file.endsWith('.ts'));

mkdirSync(outdir, { recursive: true });
for (const file of readdirSync(here).filter((name) => /\.(html|css)$/.test(name))) {
  copyFileSync(resolve(here, file), resolve(outdir, file));
}
// The SDK exactly as a browser user gets it (nest-realtime-client/browser.iife.js).
execFileSync(
  process.execPath,
  [resolve(root, 'libs/realtime-client/build.mjs'), '--outdir', resolve(outdir, 'sdk')],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
await build({
  entryPoints: pages.map((file) => resolve(here, 'src/pages', file)),
  outdir,
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2020',
  // Served as they are: minified (the logs page carries uPlot), with source maps for a reader.
  minify: true,
  sourcemap: true,
  tsconfig: resolve(here, 'tsconfig.json'),
  logLevel: 'warning',
});
console.log(`sample web pages written to ${outdir} in ${Date.now() - started} ms`);
