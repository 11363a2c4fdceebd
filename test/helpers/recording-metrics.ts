/** A Metrics port (src/core/telemetry.ts) that records: counters and gauges by series, histograms' samples. */
import type { Labels, Metrics } from '../../src/core/telemetry.js';

/** `name{k=v,…}`, the labels in the order given. */
export const seriesKey = (name: string, labels: Labels) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`;

export class RecordingMetrics implements Metrics {
  /** Counter totals and gauge values, by series. */
  readonly values = new Map<string, number>();
  /** Every observation, by series. */
  readonly observed = new Map<string, number[]>();
  counter(name: string) {
    return { inc: (labels: Labels, value = 1) => this.add(seriesKey(name, labels), value) };
  }
  gauge(name: string) {
    return { set: (labels: Labels, value: number) => this.values.set(seriesKey(name, labels), value) };
  }
  histogram(name: string) {
    return {
      observe: (labels: Labels, value: number) =>
        this.observed.set(seriesKey(name, labels), [
          ...(this.observed.get(seriesKey(name, labels)) ?? []),
          value,
        ]),
    };
  }
  get(name: string, labels: Labels = {}): number | undefined {
    return this.values.get(seriesKey(name, labels));
  }
  private add(k: string, value: number): void {
    this.values.set(k, (this.values.get(k) ?? 0) + value);
  }
}
