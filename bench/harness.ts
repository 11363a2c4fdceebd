/**
 * Shared benchmark plumbing: a timed loop that runs until a minimum duration, the
 * machine description every result is recorded with, and markdown output.
 */
import { cpus, totalmem } from 'node:os';

export interface Measurement {
  readonly iterations: number;
  readonly seconds: number;
}

/** Runs `fn` repeatedly for at least `minMs` (after `warmupMs` of warm-up). */
export function measure(fn: () => void, { minMs = 1500, warmupMs = 300 } = {}): Measurement {
  const warmUntil = performance.now() + warmupMs;
  while (performance.now() < warmUntil) fn();
  const start = performance.now();
  let iterations = 0;
  while (performance.now() - start < minMs) {
    fn();
    iterations++;
  }
  return { iterations, seconds: (performance.now() - start) / 1000 };
}

/** Async variant of {@link measure}. */
export async function measureAsync(
  fn: () => Promise<void>,
  { minMs = 1500, warmupMs = 300 } = {},
): Promise<Measurement> {
  const warmUntil = performance.now() + warmupMs;
  while (performance.now() < warmUntil) await fn();
  const start = performance.now();
  let iterations = 0;
  while (performance.now() - start < minMs) {
    await fn();
    iterations++;
  }
  return { iterations, seconds: (performance.now() - start) / 1000 };
}

export function machine(): string {
  const cpu = cpus();
  const date = new Date().toISOString().slice(0, 10);
  return `${date} · ${cpu.length} × ${cpu[0]?.model ?? 'unknown cpu'} · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · Node ${process.version}`;
}

export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Percentile (0..100) of an unsorted sample. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Runs `op` with up to `inFlight` calls outstanding for `durationMs`; returns how many
 * completed and each one's latency in ms (from call to settle).
 */
export async function runPipelined(
  op: (index: number) => Promise<void>,
  { inFlight, durationMs }: { inFlight: number; durationMs: number },
): Promise<{ completed: number; seconds: number; latenciesMs: number[] }> {
  const latenciesMs: number[] = [];
  const start = performance.now();
  let issued = 0;
  // Calls are issued in order; `op` is responsible for keeping their effects ordered.
  const lanes: Promise<void>[] = [];
  const issue = (): Promise<void> => {
    const index = issued++;
    const t0 = performance.now();
    return op(index).then(() => void latenciesMs.push(performance.now() - t0));
  };
  for (let i = 0; i < inFlight; i++) lanes.push(issue());
  while (performance.now() - start < durationMs) {
    await lanes.shift();
    lanes.push(issue());
  }
  await Promise.all(lanes);
  return { completed: latenciesMs.length, seconds: (performance.now() - start) / 1000, latenciesMs };
}
