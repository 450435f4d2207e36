// The command line of `npm run bench`: its flags, where it writes, and the scenario groups selected.
import { join } from 'path';

/** Scenario groups; `--only=idle,history` reruns some and keeps the others of the last results file. */
export const GROUPS = ['fanout', 'halfload', 'scaleout', 'logs', 'idle', 'connections', 'history'] as const;
export type Group = (typeof GROUPS)[number];

export interface BenchOptions {
  /** `--smoke`: a tiny version of every scenario (npm test). */
  smoke: boolean;
  /** `--from-source` runs servers and generators under ts-node instead of compiled (see bench/build.ts). */
  fromSource: boolean;
  /** `--only=idle,history`: the group names as given (checked by `selectedGroups`). */
  only: string[] | undefined;
  /**
   * `--scenario=rooms, 100 members` reruns that fan-out scenario only and keeps the others; the flag
   * may be given several times (scenario names hold commas).
   */
  scenarios: string[] | undefined;
  /**
   * `--rounds=3`: interleaved rounds of the fan-out, half-load, scale-out and connections
   * comparisons, for short trials (the report's command shows it). @default 7 (connections: 2), 1 with --smoke
   */
  rounds: number | undefined;
  /** `--baseline <git-ref>` (or `--baseline=<git-ref>`): that commit's gateways run beside the current ones. */
  baseline: string | undefined;
  /** `--report-only`: rewrites the Markdown report from the results file, measures nothing. */
  reportOnly: boolean;
  outJson: string;
  /** null: no Markdown (smoke runs, unless BENCH_OUT_MD says where). */
  outMd: string | null;
}

/** Upper bound of `--rounds`: a run stays bounded in time. */
const MAX_ROUNDS = 25;

/** Parses the arguments after `npm run bench --`; `benchDir` is bench/, its parent the repository. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv, benchDir: string): BenchOptions {
  const smoke = argv.includes('--smoke');
  const values = (name: string): string[] | undefined => {
    const given = argv.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
    return given.length === 0 ? undefined : given;
  };
  const value = (name: string): string | undefined => values(name)?.[0];
  let baseline = value('baseline');
  const at = argv.indexOf('--baseline');
  if (at >= 0) {
    const next = argv[at + 1];
    if (next === undefined || next.startsWith('--'))
      throw new Error('--baseline needs a git ref, e.g. --baseline HEAD');
    baseline = next;
  }
  if (baseline !== undefined && baseline.trim() === '')
    throw new Error('--baseline needs a git ref, e.g. --baseline HEAD');
  const rawRounds = value('rounds');
  const rounds = rawRounds === undefined ? undefined : Number(rawRounds);
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1 && rounds <= MAX_ROUNDS)) {
    throw new Error(`--rounds must be a whole number from 1 to ${MAX_ROUNDS} (got ${rawRounds})`);
  }
  return {
    smoke,
    fromSource: argv.includes('--from-source'),
    only: value('only')?.split(','),
    scenarios: values('scenario'),
    rounds,
    baseline,
    reportOnly: argv.includes('--report-only'),
    outJson: env.BENCH_OUT_JSON ?? join(benchDir, smoke ? 'results.smoke.json' : 'results.json'),
    outMd: env.BENCH_OUT_MD ?? (smoke ? null : join(benchDir, '..', 'BENCHMARKS.md')),
  };
}

/**
 * The command recorded in the report: a full run's own (`flags`: those that shape its figures), or,
 * for a partial run, the command of the results it completes (`previous`) followed by its arguments
 * as a shell would take them back (one holding a space quoted).
 */
export function recordedCommand(
  previous: string | undefined,
  partial: boolean,
  flags: string,
  args: readonly string[],
): string {
  const full = `npm run bench${flags ? ` -- ${flags}` : ''}`;
  if (!partial) return full;
  const again = args.map((arg) => (/\s/.test(arg) ? `"${arg}"` : arg)).join(' ');
  return `${previous ?? full}, then again with -- ${again}`;
}

export function selectedGroups(options: Pick<BenchOptions, 'only' | 'scenarios'>): Set<Group> {
  if (!options.only) return new Set(options.scenarios === undefined ? GROUPS : ['fanout']);
  const names = options.only;
  const unknown = names.filter((n) => !(GROUPS as readonly string[]).includes(n));
  if (unknown.length)
    throw new Error(`unknown scenario group(s): ${unknown.join(', ')} (known: ${GROUPS.join(', ')})`);
  if (options.scenarios !== undefined && !names.includes('fanout')) {
    throw new Error('--scenario names a fan-out scenario: it needs the fanout group');
  }
  return new Set(names as Group[]);
}
