// Met or not met: a ratio against its target, with the A/A control (the bare server against itself in
// the same rounds) as the margin by which it must clear the target. The rule is in docs/performance.md.
import type { RatioSummary } from './runner';

/** 'within noise': on the right side of the target, but by no more than the A/A control strays from 1. */
export type Verdict = 'met' | 'not met' | 'within noise';

export interface RatioTarget {
  limit: number;
  /** 'atLeast': the ratio must reach the limit (≥); 'atMost': stay under it (≤). */
  bound: 'atLeast' | 'atMost';
}

/**
 * How far the bare server got from itself in its worst round: the A/A ratio's largest distance from
 * 1. The per-round spread, not the median's: on the safe side with few rounds, but it does not
 * narrow with more of them.
 */
export function noiseMargin(control: RatioSummary): number {
  return Math.max(control.max - 1, 1 - control.min, 0);
}

/** Without a control (older results files) the plain comparison with the limit decides. */
export function judge(ratio: number, target: RatioTarget, control: RatioSummary | undefined): Verdict {
  if (!Number.isFinite(ratio)) return 'not met';
  const clearance = target.bound === 'atLeast' ? ratio - target.limit : target.limit - ratio;
  if (clearance < 0) return 'not met';
  if (control === undefined || !Number.isFinite(noiseMargin(control))) return 'met';
  return clearance > noiseMargin(control) ? 'met' : 'within noise';
}
