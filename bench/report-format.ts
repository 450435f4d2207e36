// Number formatting shared by the report's sections (bench/report.ts, bench/report-capacity.ts).
import type { RatioSummary } from './runner';

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en') : 'n/a';
}

/** A median of per-round ratios, with the lowest and highest round in brackets when there are two or more. */
export function ratioText(s: RatioSummary): string {
  return `${fmt(s.median)} ×${s.rounds >= 2 ? ` (${fmt(s.min)}–${fmt(s.max)})` : ''}`;
}

/** 'once', '3 times'. */
export function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`;
}
