/**
 * A bench run's plan: which scenarios, on which setups, with which sizes and for how
 * long, resolved from the command line (src/cli/bench.ts) before anything is measured.
 * `--quick` picks smaller defaults; any explicit list or duration overrides them.
 */
import type { Compression } from '../core/compression.js';
import type { ClusterIds, Setup } from './targets.js';

export const SCENARIOS = [
  'throughput',
  'latency',
  'replay',
  'ceilings',
  'http',
  'failover',
  'growth',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** The defaults of a full run and of `--quick`. */
export const PLAN_DEFAULTS = {
  full: {
    caseMs: 3_000,
    rounds: 3,
    clients: [1, 16, 64, 256],
    valueBytes: [64, 512, 8192],
    rates: [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000],
    replayEntries: [10_000, 100_000, 1_000_000],
    httpClients: [1, 16, 64, 256],
    failoverRuns: 10,
    snapshotKeys: [10_000, 100_000, 1_000_000],
  },
  quick: {
    caseMs: 1_000,
    rounds: 1,
    clients: [1, 16, 64, 256],
    valueBytes: [64, 512, 8192],
    rates: [1_000, 4_000, 16_000],
    replayEntries: [10_000, 100_000],
    httpClients: [1, 16, 64],
    failoverRuns: 3,
    snapshotKeys: [10_000, 100_000],
  },
} as const;

/** Value size of the latency, replay, ceiling, HTTP and growth scenarios. */
export const FIXED_VALUE_BYTES = 512;
/** Concurrent callers of our writer in the ceilings scenario. */
export const CEILING_CLIENTS = 64;
/** Records in flight to a raw client in the ceilings: the writer's default pipeline depth. */
export const CEILING_IN_FLIGHT = 4;

export interface BenchPlan {
  readonly quick: boolean;
  readonly scenarios: readonly ScenarioName[];
  readonly setups: readonly Setup[];
  /** Measured time of one case (after its warm-up). */
  readonly caseMs: number;
  readonly warmupMs: number;
  /** Rounds per throughput case, variants interleaved; figures are medians over rounds. */
  readonly rounds: number;
  readonly clients: readonly number[];
  readonly valueBytes: readonly number[];
  readonly rates: readonly number[];
  readonly replayEntries: readonly number[];
  readonly httpClients: readonly number[];
  /** Kills of the primary per failover mode. */
  readonly failoverRuns: number;
  /** Growth: state sizes (keys of FIXED_VALUE_BYTES) to snapshot and restore. */
  readonly snapshotKeys: readonly number[];
  /** Where file stores and scratch files go (removed after). */
  readonly workDir: string;
  readonly compression: Compression;
  readonly ids: ClusterIds;
  /** One progress line (stderr). */
  progress(line: string): void;
}

/** Warm-up before each measured case: a fifth of it, between 20 ms and 500 ms. */
export function warmupFor(caseMs: number): number {
  return Math.min(500, Math.max(20, Math.round(caseMs / 5)));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
