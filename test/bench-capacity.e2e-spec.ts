// The benchmark's capacity ramp and its verdicts, without servers: which publish rates a ramp tries
// against a server that sustains up to a known rate, and how the A/A control's spread decides a
// ratio target (bench/scenarios/capacity.ts, bench/verdict.ts).
import { capacityTarget } from '../bench/report';
import { searchCapacity, type Capacity, type CapacityComparison } from '../bench/scenarios/capacity';
import { judge, medianIntervalRank, noiseMargin } from '../bench/verdict';

/** A server that sustains every rate up to `limit`; the rates it was asked for, in order. */
function serverUpTo(limit: number): { tried: number[]; sustains: (rate: number) => Promise<boolean> } {
  const tried: number[] = [];
  return {
    tried,
    sustains: (rate) => {
      tried.push(rate);
      return Promise.resolve(rate <= limit);
    },
  };
}

const plan = { startRate: 250, factor: 1.4, maxSteps: 12, refineSteps: 3 };

describe('benchmark capacity ramp', () => {
  it('climbs by the factor to the first rate not sustained, then bisects the bracket', async () => {
    const server = serverUpTo(1000);
    await expect(searchCapacity(plan, server.sustains)).resolves.toBe(960);
    expect(server.tried).toEqual([250, 350, 490, 686, 960, 1344, 1136, 1044, 1001]);
  });

  it('keeps the highest rate sustained when a bisection is sustained', async () => {
    const server = serverUpTo(1100);
    await expect(searchCapacity(plan, server.sustains)).resolves.toBe(1089);
    expect(server.tried.slice(5)).toEqual([1344, 1136, 1044, 1089]);
  });

  it('steps down from a start the server does not sustain', async () => {
    const server = serverUpTo(500);
    await expect(searchCapacity({ ...plan, startRate: 960 }, server.sustains)).resolves.toBe(489);
    expect(server.tried).toEqual([960, 685, 489, 579, 532, 510]);
  });

  it('stays within its steps when no rate is sustained or every one is', async () => {
    const none = serverUpTo(0);
    await expect(searchCapacity(plan, none.sustains)).resolves.toBeUndefined();
    expect(none.tried.length).toBeLessThanOrEqual(plan.maxSteps);
    const all = serverUpTo(Infinity);
    await expect(searchCapacity({ ...plan, maxSteps: 3 }, all.sustains)).resolves.toBe(490);
    expect(all.tried).toEqual([250, 350, 490]);
  });
});

describe('benchmark verdicts with an A/A control', () => {
  const control = { median: 1.01, min: 0.97, max: 1.03, rounds: 3 };
  const capacity = { limit: 0.95, bound: 'atLeast' } as const;
  const cpu = { limit: 1.2, bound: 'atMost' } as const;

  it('meets a target cleared by more than the control strays from 1', () => {
    expect(judge(1.0, capacity, control)).toBe('met');
    expect(judge(1.1, cpu, control)).toBe('met');
  });

  it('leaves a target cleared by less than that to more rounds', () => {
    expect(judge(0.97, capacity, control)).toBe('within noise');
    expect(judge(1.18, cpu, control)).toBe('within noise');
  });

  it('does not meet a target missed, and judges on the ratio alone without a control', () => {
    expect(judge(0.9, capacity, control)).toBe('not met');
    expect(judge(1.25, cpu, control)).toBe('not met');
    expect(judge(Number.NaN, capacity, control)).toBe('not met');
    expect(judge(0.97, capacity, undefined)).toBe('met');
  });

  it('narrows the margin with more rounds: the interval of the A/A median, not its worst round', () => {
    // Seven rounds: the 2nd lowest and 2nd highest bound the median with 87.5 % coverage.
    const seven = [0.8, 0.97, 0.99, 1.0, 1.01, 1.04, 1.3];
    const control7 = { median: 1.0, min: 0.8, max: 1.3, rounds: 7, ratios: seven };
    expect(medianIntervalRank(7)).toBe(2);
    expect(noiseMargin(control7)).toBeCloseTo(0.04, 10);
    expect(judge(1.1, cpu, control7)).toBe('met');
    // The same spread in three rounds is the whole range: 1.1 is then within noise.
    const control3 = { median: 1.0, min: 0.8, max: 1.3, rounds: 3, ratios: [0.8, 1.0, 1.3] };
    expect(noiseMargin(control3)).toBeCloseTo(0.3, 10);
    expect(judge(1.1, cpu, control3)).toBe('within noise');
    // Without the per-round ratios (older results files), the range.
    expect(noiseMargin({ median: 1.0, min: 0.8, max: 1.3, rounds: 7 })).toBeCloseTo(0.3, 10);
    expect([3, 6, 9, 11, 25].map(medianIntervalRank)).toEqual([1, 1, 2, 3, 9]);
  });
});

describe('benchmark capacity verdicts when the generator sets a maximum', () => {
  const ramp = (rate: number, generatorBound: boolean): Capacity => ({
    target: 'x',
    subscribers: 100,
    steps: [],
    rate,
    deliveriesPerSec: rate * 100,
    generatorBound,
  });
  /** Three rounds of the given maxima; `bound` says which side's ramps were generator-bound. */
  const comparison = (
    ours: number,
    bare: number,
    bound: 'ours' | 'baseline' | 'none',
  ): CapacityComparison => {
    const rounds = [0, 1, 2].map(() => ({
      ours: ramp(ours, bound === 'ours'),
      baseline: ramp(bare, bound === 'baseline'),
    }));
    const ratio = ours / bare;
    return {
      scenario: 'chat capacity, 100 members',
      ours: 'chat',
      baseline: 'bareIo',
      subscribers: 100,
      plan: {
        subscribers: 100,
        startRate: 150,
        factor: 1.4,
        maxSteps: 12,
        refineSteps: 3,
      } as CapacityComparison['plan'],
      rounds,
      ratio: { median: ratio, min: ratio, max: ratio, rounds: 3, ratios: [ratio, ratio, ratio] },
      generatorBoundRounds: bound === 'none' ? 0 : 3,
      failures: [],
    };
  };
  const verdict = (c: CapacityComparison) => capacityTarget('capacity ≥ 0.95 ×', c, undefined).verdict;

  it('takes a ratio above the target as met when only our maximum is a floor (the ratio a lower bound)', () => {
    expect(verdict(comparison(2000, 1000, 'ours'))).toBe('met');
  });

  it('proves no target met when the bare maximum is a floor, and none missed when ours is', () => {
    expect(verdict(comparison(1000, 1000, 'baseline'))).toBe('not measured');
    expect(verdict(comparison(500, 1000, 'ours'))).toBe('not measured');
    // A ratio below the target with the bare side bound is a true "not met" (its true value is lower).
    expect(verdict(comparison(500, 1000, 'baseline'))).toBe('not met');
    expect(verdict(comparison(1000, 1000, 'none'))).toBe('met');
  });
});
