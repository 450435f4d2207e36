// Delivery latencies of the fleet in an HDR histogram (microsecond resolution), reported in ms.
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
}

export class LatencyRecorder {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  get count(): number {
    return this.histogram.totalCount;
  }

  recordMs(latencyMs: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
  }

  summary(): LatencySummary {
    const ms = (micros: number) => Math.round(micros) / 1000;
    if (this.histogram.totalCount === 0) return { p50: 0, p99: 0, max: 0 };
    // A percentile is the top of its histogram bucket, which may lie above the largest value recorded.
    const max = this.histogram.maxValue;
    return {
      p50: ms(Math.min(max, this.histogram.getValueAtPercentile(50))),
      p99: ms(Math.min(max, this.histogram.getValueAtPercentile(99))),
      max: ms(max),
    };
  }

  destroy(): void {
    this.histogram.destroy();
  }
}
