/**
 * The Metrics port (src/core/telemetry.ts) bound to prom-client, on one registry per
 * node: what `GET /metrics` serves. An instrument asked for twice by name (a writer
 * started again after a promotion) is the same instrument, so its series continue.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metrics } from '../core/telemetry.js';

export interface PromMetrics extends Metrics {
  readonly registry: Registry;
  text(): Promise<string>;
}

export function promMetrics(options: { readonly processMetrics?: boolean } = {}): PromMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'oplog_' });
  const made = new Map<string, Counter | Gauge | Histogram>();
  const once = <T extends Counter | Gauge | Histogram>(name: string, make: () => T): T => {
    const existing = made.get(name);
    if (existing !== undefined) return existing as T;
    const fresh = make();
    made.set(name, fresh);
    return fresh;
  };
  return {
    registry,
    text: () => registry.metrics(),
    counter: (name, help, labelNames = []) =>
      once(name, () => new Counter({ name, help, labelNames: [...labelNames], registers: [registry] })),
    gauge: (name, help, labelNames = []) =>
      once(name, () => new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] })),
    histogram: (name, help, labelNames = [], buckets) =>
      once(
        name,
        () =>
          new Histogram({
            name,
            help,
            labelNames: [...labelNames],
            registers: [registry],
            ...(buckets === undefined ? {} : { buckets: [...buckets] }),
          }),
      ),
  };
}
