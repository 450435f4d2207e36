// `--baseline <git-ref>`: that commit's tree in a temporary git worktree, its bench servers built like the current ones.
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { prepareTree, type ServerTree } from './runner';

export interface BaselineTree extends ServerTree {
  ref: string;
  /** The commit the ref resolved to (full hash). */
  commit: string;
}

function git(root: string, args: string[]): { ok: boolean; out: string; err: string } {
  const run = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (run.error) throw new Error(`--baseline needs git: ${run.error.message}`);
  return { ok: run.status === 0, out: run.stdout.trim(), err: run.stderr.trim() };
}

/** The commit a ref names, or a clear error. */
export function resolveCommit(root: string, ref: string): string {
  const resolved = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  if (!resolved.ok || !resolved.out) throw new Error(`--baseline ${ref}: not a commit of this repository`);
  return resolved.out;
}

/** The files a commit needs for its servers to run beside the current ones, missing ones named. */
export function missingBuildStep(root: string, commit: string): string[] {
  return ['bench/build.ts', 'bench/bench-protocol.ts', 'bench/servers/sample.ts'].filter(
    (path) => !git(root, ['cat-file', '-e', `${commit}:${path}`]).ok,
  );
}

/** Where the worktree of a commit goes: a fresh folder in the temp directory. */
export function worktreeParent(commit: string, temp = tmpdir()): string {
  return mkdtempSync(join(temp, `rt-bench-baseline-${commit.slice(0, 12)}-`));
}

/**
 * Checks out `ref` into a temporary worktree (detached; this repository's index and working tree are
 * not touched), links this repository's node_modules into it and builds its bench servers the way
 * bench/build.ts builds the current ones (or, with `fromSource`, runs them under ts-node). `cleanup`
 * removes the build, the worktree and its folder.
 */
export function prepareBaseline(root: string, ref: string, fromSource: boolean): BaselineTree {
  const commit = resolveCommit(root, ref);
  const short = commit.slice(0, 12);
  const missing = missingBuildStep(root, commit);
  if (missing.length) {
    const first = git(root, [
      'log',
      '--diff-filter=A',
      '--reverse',
      '--format=%h',
      '--',
      'bench/build.ts',
    ]).out.split('\n')[0];
    throw new Error(
      `--baseline ${ref} (${short}) has no compiled-build step for its bench servers (missing: ${missing.join(', ')}); ` +
        `pick a commit that has bench/build.ts${first ? ` (added in ${first})` : ''}`,
    );
  }
  const parent = worktreeParent(commit);
  const dir = join(parent, 'tree');
  const removeWorktree = (): void => {
    const removed = git(root, ['worktree', 'remove', '--force', dir]);
    rmSync(parent, { recursive: true, force: true });
    if (!removed.ok) git(root, ['worktree', 'prune']);
  };
  const added = git(root, ['worktree', 'add', '--detach', dir, commit]);
  if (!added.ok) {
    rmSync(parent, { recursive: true, force: true });
    throw new Error(`--baseline ${ref}: git worktree add failed: ${added.err}`);
  }
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    if (!existsSync(join(dir, 'tsconfig.json')))
      throw new Error(`--baseline ${ref} (${short}) has no tsconfig.json`);
    const lock = (path: string): string | null => (existsSync(path) ? readFileSync(path, 'utf8') : null);
    if (lock(join(dir, 'package-lock.json')) !== lock(join(root, 'package-lock.json'))) {
      console.error(
        `[bench] --baseline ${ref}: its package-lock.json differs from this tree's; its servers run on this tree's node_modules`,
      );
    }
    console.error(`[bench] --baseline ${ref}: ${short} checked out in ${dir}, building its servers`);
    const tree = prepareTree(dir, fromSource, ref);
    return {
      ...tree,
      ref,
      commit,
      cleanup: () => {
        try {
          tree.cleanup();
        } finally {
          removeWorktree();
        }
      },
    };
  } catch (error) {
    removeWorktree();
    throw error;
  }
}
