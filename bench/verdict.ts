// Met or not met: a ratio against its target, with the A/A control (the bare server against itself in
// the same rounds) as the margin by which it must clear the target. The rule is in docs/performance.md.
import type { RatioSummary } from './runner';

/** 'within noise': on the right side of the target, but by no more than the A/A noise margin. */
export type Verdict = 'met' | 'not met' | 'within noise';

export interface RatioTarget {
  limit: number;
  /** 'atLeast': the ratio must reach the limit (≥); 'atMost': stay under it (≤). */
  bound: 'atLeast' | 'atMost';
}

/** Coverage asked of the interval around the A/A median (see noiseMargin). */
const MEDIAN_INTERVAL_COVERAGE = 0.85;

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
  let term = 0.5 ** n;
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return sum;
}

/**
 * The rank k (1-based) such that the k-th lowest and k-th highest of n rounds bound the median of
 * the distribution with at least MEDIAN_INTERVAL_COVERAGE: the distribution-free interval of a
 * median, P = 1 − 2·P(Binomial(n, ½) ≤ k − 1). 1 (the whole range) up to 6 rounds, 2 at 7, 9 at 25;
 * the whole range reaches 85 % only from 4 rounds.
 */
export function medianIntervalRank(n: number): number {
  let k = 1;
  while (k + 1 <= n / 2 && 1 - 2 * binomialHalfCdf(n, k) >= MEDIAN_INTERVAL_COVERAGE) k++;
  return k;
}

/**
 * How far the bare server strays from itself: the largest distance from 1 of the interval that holds
 * the A/A ratio's median with 85 % coverage, from 4 rounds on (with 3 or fewer, the whole range of
 * the rounds, the worst round, which covers less: 75 % at 3). With more rounds it narrows, so a
 * target cleared by a small margin can be shown met by running more rounds (`--rounds`). Results
 * without the per-round ratios use the range; a round without a figure (NaN) leaves no margin, so
 * the plain comparison decides, as without a control.
 */
export function noiseMargin(control: RatioSummary): number {
  const ratios = control.ratios;
  if (ratios === undefined || ratios.length === 0) return Math.max(control.max - 1, 1 - control.min, 0);
  if (ratios.some((ratio) => !Number.isFinite(ratio))) return Number.NaN;
  const sorted = [...ratios].sort((a, b) => a - b);
  const k = medianIntervalRank(sorted.length);
  return Math.max(sorted[sorted.length - k]! - 1, 1 - sorted[k - 1]!, 0);
}

/** Without a control (older results files) the plain comparison with the limit decides. */
export function judge(ratio: number, target: RatioTarget, control: RatioSummary | undefined): Verdict {
  if (!Number.isFinite(ratio)) return 'not met';
  const clearance = target.bound === 'atLeast' ? ratio - target.limit : target.limit - ratio;
  if (clearance < 0) return 'not met';
  if (control === undefined || !Number.isFinite(noiseMargin(control))) return 'met';
  return clearance > noiseMargin(control) ? 'met' : 'within noise';
}
