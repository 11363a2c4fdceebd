/**
 * Latency recording in an HDR histogram (hdr-histogram-js): microsecond resolution, 3
 * significant digits, resized as needed, so a percentile costs nothing per sample and a
 * long tail is kept exactly enough instead of being sampled away.
 */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export class LatencyHistogram {
  private readonly histogram = hdr.build({
    bitBucketSize: 'packed',
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });

  /** Records one latency in ms (negative clock noise counts as 0). */
  recordMs(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** The latency at percentile `p` (0..100), in ms; 0 with no sample. */
  percentileMs(p: number): number {
    return this.count === 0 ? 0 : this.histogram.getValueAtPercentile(p) / 1000;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50Ms: this.percentileMs(50),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: this.count === 0 ? 0 : this.histogram.maxValue / 1000,
    };
  }
}
