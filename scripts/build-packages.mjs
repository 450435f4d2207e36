// Builds the two installable packages, nest-realtime (the Nest module) and nest-realtime-client (the
// SDK), into dist/pack/<name>/ as they will be published, checks that every module their JavaScript
// loads and their typings import is declared in their package.json, and with --pack writes one
// tarball of each to dist/packages/.
//
//   node scripts/build-packages.mjs [--pack] [--out DIR]   (DIR: dist by default; stages in DIR/pack,
//                                                          tarballs in DIR/packages)
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules/.bin/tsc');
const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : join(root, 'dist');
const stageRoot = join(out, 'pack');
const tarballs = join(out, 'packages');
const shared = ['LICENSE', 'CHANGELOG.md'];

/** Files under `dir` whose names end with one of `endings`. */
function filesUnder(dir, endings) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) found.push(...filesUnder(full, endings));
    else if (endings.some((ending) => name.endsWith(ending))) found.push(full);
  }
  return found;
}

const isSpec = (file) => /\.(spec|helper-spec|e2e-spec)\.ts$/.test(file);

/** Copies the sources of a folder without its specs and test helpers. */
function copySources(from, to) {
  cpSync(from, to, { recursive: true, filter: (src) => statSync(src).isDirectory() || !isSpec(src) });
}

function compile(tsconfig, outDir) {
  execFileSync(process.execPath, [tsc, '-p', tsconfig, '--outDir', outDir], { cwd: root, stdio: 'inherit' });
}

/** The package a module specifier names ('@scope/name/deep' → '@scope/name'), or null for a builtin or a relative path. */
function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? null : name;
}

/**
 * The typings a host's compiler reads: the entry's, and every typings file they import, transitively
 * (a host with `skipLibCheck: false` checks exactly these).
 */
function reachableTypings(entry) {
  const seen = new Set();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s*|import\(\s*)["'](\.[^"']*)["']/g)) {
      const target = resolve(dirname(file), m[1]);
      queue.push(existsSync(`${target}.d.ts`) ? `${target}.d.ts` : join(target, 'index.d.ts'));
    }
  }
  return [...seen];
}

/**
 * What the package's files really load: `require('x')` and the library's lazy `loadOptional('x')` in
 * JavaScript; `import … from 'x'`, `import('x')` and `/// <reference types="x" />` in the typings
 * reachable from the package's `types` entry.
 */
export function loadedPackages(distDir, typesEntry = join(distDir, 'index.d.ts')) {
  const code = new Map();
  const types = new Map();
  const note = (map, name, file) => {
    if (name && !map.has(name)) map.set(name, relative(distDir, file));
  };
  for (const file of filesUnder(distDir, ['.js', '.mjs', '.cjs'])) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\b(?:require|loadOptional)\(\s*["']([^"']+)["']\s*\)/g))
      note(code, packageOf(m[1]), file);
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s*["']([^"']+)["']/gm))
      note(code, packageOf(m[1]), file);
  }
  for (const file of reachableTypings(typesEntry)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s*|import\(\s*)["']([^"']+)["']/g))
      note(types, packageOf(m[1]), file);
    for (const m of text.matchAll(/<reference types="([^"]+)"/g)) note(types, packageOf(m[1]), file);
  }
  return { code, types };
}

/**
 * Optional peers that a required peer depends on: always installed with it (socket.io comes with
 * @nestjs/platform-socket.io), so that declaring them optional keeps the host at one copy while the
 * typings may still name them. Read from the required peers' own manifests.
 */
function broughtByRequiredPeers(pkg) {
  const optional = new Set(
    Object.keys(pkg.peerDependenciesMeta ?? {}).filter((name) => pkg.peerDependenciesMeta[name].optional),
  );
  const brought = new Set();
  for (const peer of Object.keys(pkg.peerDependencies ?? {})) {
    if (optional.has(peer)) continue;
    const manifest = join(root, 'node_modules', peer, 'package.json');
    if (!existsSync(manifest)) continue;
    for (const dependency of Object.keys(JSON.parse(readFileSync(manifest, 'utf8')).dependencies ?? {})) {
      if (optional.has(dependency)) brought.add(dependency);
    }
  }
  return brought;
}

/**
 * Problems with a package's declared dependencies: a module loaded but not declared, or a type
 * imported from an optional peer that nothing else installs (a host without it could not compile
 * against the typings).
 */
export function dependencyProblems(pkg, distDir) {
  const declared = new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
  ]);
  const brought = broughtByRequiredPeers(pkg);
  const optional = new Set(
    Object.entries(pkg.peerDependenciesMeta ?? {})
      .filter(([name, meta]) => meta.optional && !brought.has(name))
      .map(([name]) => name),
  );
  const typed = (name) => declared.has(name) || declared.has(`@types/${name}`) || name === 'node';
  const problems = [];
  const { code, types } = loadedPackages(distDir);
  for (const [name, file] of code) {
    if (!declared.has(name))
      problems.push(`${pkg.name}: ${file} loads "${name}", which package.json does not declare`);
  }
  for (const [name, file] of types) {
    if (!typed(name))
      problems.push(`${pkg.name}: ${file} imports types from "${name}", which package.json does not declare`);
    else if (optional.has(name))
      problems.push(`${pkg.name}: ${file} imports types from the optional peer "${name}"`);
  }
  return problems;
}

function finishPackage(sourceDir, stage) {
  const pkg = JSON.parse(readFileSync(join(sourceDir, 'package.json'), 'utf8'));
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  cpSync(join(sourceDir, 'README.md'), join(stage, 'README.md'));
  for (const file of shared) cpSync(join(root, file), join(stage, file));
  const problems = dependencyProblems(pkg, join(stage, 'dist'));
  if (problems.length > 0) throw new Error(`undeclared dependencies:\n  ${problems.join('\n  ')}`);
  return pkg;
}

/** nest-realtime: the library compiled to CommonJS with its typings; no specs, no test helpers. */
function buildServer() {
  const stage = join(stageRoot, 'nest-realtime');
  rmSync(stage, { recursive: true, force: true });
  compile('libs/realtime/tsconfig.lib.json', join(stage, 'dist'));
  return { stage, pkg: finishPackage(join(root, 'libs/realtime'), stage) };
}

/**
 * nest-realtime-client: the SDK with the wire types inside (the protocol folder is copied in and its
 * imports made relative), as CommonJS with typings, a Node ES module, and the browser bundles.
 */
async function buildClient() {
  const stage = join(stageRoot, 'nest-realtime-client');
  // Staged inside the repository, so that the compiler finds node_modules; one folder per build.
  mkdirSync(join(root, 'dist'), { recursive: true });
  const staging = mkdtempSync(join(root, 'dist', '.pack-src-'));
  const src = join(staging, 'src');
  rmSync(stage, { recursive: true, force: true });
  copySources(join(root, 'libs/realtime-client/src'), src);
  copySources(join(root, 'libs/realtime/src/protocol'), join(src, 'protocol'));
  for (const file of filesUnder(src, ['.ts'])) {
    const text = readFileSync(file, 'utf8');
    let target = relative(dirname(file), join(src, 'protocol')).replace(/\\/g, '/');
    if (!target.startsWith('.')) target = `./${target}`;
    const rewritten = text.replace(/(['"])nest-realtime\/protocol\1/g, `'${target}'`);
    if (/['"]nest-realtime(\/[^'"]*)?['"]/.test(rewritten)) {
      throw new Error(
        `${relative(src, file)}: the SDK may import only nest-realtime/protocol from the server`,
      );
    }
    writeFileSync(file, rewritten);
  }
  const tsconfig = join(staging, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: {
        outDir: join(stage, 'dist'),
        rootDir: src,
        declaration: true,
        sourceMap: false,
        types: ['node'],
        paths: {},
      },
      include: [join(src, '**/*.ts')],
      exclude: [],
    }),
  );
  compile(tsconfig, join(stage, 'dist'));

  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(src, 'index.ts')],
    outfile: join(stage, 'dist/index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['socket.io-client', 'ws'],
    // The Node fallback loads `ws` with require(); an ES module has none of its own.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
    legalComments: 'none',
  });
  rmSync(staging, { recursive: true, force: true });
  const browser = join(stage, 'dist/browser');
  execFileSync(process.execPath, [join(root, 'libs/realtime-client/build.mjs'), '--outdir', browser], {
    cwd: root,
    stdio: 'inherit',
  });
  return { stage, pkg: finishPackage(join(root, 'libs/realtime-client'), stage) };
}

function pack({ stage, pkg }) {
  mkdirSync(tarballs, { recursive: true });
  const tarball = join(tarballs, `${pkg.name}-${pkg.version}.tgz`);
  rmSync(tarball, { force: true });
  execFileSync('npm', ['pack', '--silent', '--pack-destination', tarballs], {
    cwd: stage,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (!existsSync(tarball)) throw new Error(`npm pack wrote no ${tarball}`);
  return tarball;
}

async function main() {
  const packages = [buildServer(), await buildClient()];
  if (process.argv.includes('--pack')) {
    for (const built of packages) console.log(relative(root, pack(built)));
  } else {
    for (const { stage } of packages) console.log(`package built in ${relative(root, stage)}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
