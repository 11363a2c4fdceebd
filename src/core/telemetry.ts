/**
 * The ports every role reports through: small structural Metrics and Logger interfaces
 * (shared/STYLE.md, after platformatic/kafka). prom-client's Counter, Gauge and
 * Histogram and a pino logger satisfy them as they are; the defaults do nothing, so a
 * library user pays nothing for what it does not bind. Names follow Prometheus:
 * `oplog_` prefix, base units, `_total` on counters.
 */

/** Label values by label name; every label a metric declares, and no other. */
export type Labels = Readonly<Record<string, string>>;

export interface Counter {
  inc(labels: Labels, value?: number): void;
}

export interface Gauge {
  set(labels: Labels, value: number): void;
}

export interface Histogram {
  /** `value` in the metric's base unit (seconds, bytes, entries). */
  observe(labels: Labels, value: number): void;
}

export interface Metrics {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  histogram(
    name: string,
    help: string,
    labelNames?: readonly string[],
    buckets?: readonly number[],
  ): Histogram;
}

/** pino's call shape: structured fields first, then the message. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const NOOP = { inc() {}, set() {}, observe() {} };

/** Metrics that go nowhere: the default of every role. */
export const NO_METRICS: Metrics = {
  counter: () => NOOP,
  gauge: () => NOOP,
  histogram: () => NOOP,
};

/** A logger that drops everything: the default of every role. */
export const NO_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };
