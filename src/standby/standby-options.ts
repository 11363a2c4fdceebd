/**
 * The standby's options, status and defaults (split from standby.ts, which re-exports
 * them): what a caller configures and what it reads back.
 */
import type { ApplierConfig } from '../core/applier.js';
import type { Compression } from '../core/compression.js';
import type { StandbyEvent, StandbyState } from '../core/standby-state.js';
import type { Seq, SeqRange } from '../core/types.js';
import type { StateMachine } from '../snapshot/state-machine.js';
import type { LogStore } from '../stores/log-store.js';
import type { SnapshotPolicy } from './snapshot-policy.js';
import type { Logger, Metrics } from '../core/telemetry.js';
import type { WarnFn } from './warnings.js';
import type { PromotedWriter, WriterFactory } from './writer-port.js';

/** Period of the standby's timer (gap fetches, skip timeouts, resubscribes). */
export const DEFAULT_TICK_MS = 50;

export const DEFAULT_APPLIER_CONFIG: ApplierConfig = {
  pendingEntriesMax: 100_000,
  pendingBytesMax: 256 * 1024 * 1024,
  gapRequestDelayMs: 200,
  skipTimeoutMs: 30_000,
  fetchBackoffMs: 200,
  fetchBackoffMaxMs: 5_000,
  skipPolicy: 'halt',
  fetchRangesPerTickMax: 8,
  skippedRangesMax: 1_000,
};

export interface StandbyOptions<W extends PromotedWriter = PromotedWriter> {
  readonly source: LogStore;
  /** Where gaps and corrupted records are fetched from; default the source. */
  readonly fetchStore?: LogStore;
  readonly stateMachine: StateMachine;
  readonly compression: Compression;
  readonly applier?: Partial<ApplierConfig>;
  readonly tickMs?: number;
  readonly nowMs?: () => number;
  /**
   * Where warnings go (a blind source, a loop failure, a skipped range, a rejected
   * lifecycle transition, a fence), at most one per kind per warningIntervalMs; the
   * next one of a kind says how many were folded (` (N more folded)`). Default: none;
   * the typed events (`events`) carry the same facts unthrottled.
   */
  readonly warn?: WarnFn;
  /**
   * Where warnings go when no `warn` is given: `logger.warn({ kind, cause }, message)`,
   * with `folded` (and `foldedFromSeq`, `foldedToSeq`) on the line after a fold.
   */
  readonly logger?: Logger;
  /**
   * Default DEFAULT_WARNING_INTERVAL_MS (10,000 ms); 0 passes every warning on (for a
   * logger that folds by itself, as a served node's does).
   */
  readonly warningIntervalMs?: number;
  /**
   * Where the standby's metrics go (standby-metrics.ts: head, applied, lag, pending,
   * state, epoch, gaps, corrupt records, duplicates, reconnects, fences, snapshots).
   * Default: none (NO_METRICS), at no cost.
   */
  readonly metrics?: Metrics;
  /**
   * Reads while the state may be stale (not following a visible source and not the
   * writer: see readsAreFresh): `deny` (default) refuses them, `allow` serves them
   * flagged stale.
   */
  readonly staleReads?: 'allow' | 'deny';
  /** Called on every lifecycle change, e.g. for logs. */
  readonly onState?: (from: StandbyState, to: StandbyState, event: StandbyEvent) => void;
  /**
   * The stores a promoted writer fences and writes (writer handles: a reader-mode file
   * store cannot append). Default: the source and the fetch store.
   */
  readonly promotionStores?: () => Promise<readonly LogStore[]>;
  /**
   * Starts the writer on promotion (writer-port.ts; e.g. `PrimaryWriter.start`, with
   * whatever writer settings the caller closes over). Without it promote() is refused:
   * a node that may never write need not know how to.
   */
  readonly startWriter?: WriterFactory<W>;
  /** Delay between attempts while leaderless; doubles up to 10×. Default 200 ms. */
  readonly leaderlessRetryMs?: number;
  /**
   * Called inside each promotion attempt after the fence and reconciliation, before the
   * writer starts; throwing fails that attempt (tests inject failures here).
   */
  readonly onTakeover?: (attempt: number) => Promise<void>;
  /**
   * Snapshots taken by the standby itself: one every `everyEntries` applied entries
   * (taken between two applies, written in the background; a failure is warned about
   * and retried at the next threshold), keeping the newest `keep` (default 2).
   */
  readonly snapshotPolicy?: SnapshotPolicy;
}

export interface StandbyStatus {
  readonly state: StandbyState;
  readonly appliedSeq: Seq;
  readonly headSeq: Seq;
  readonly lagEntries: bigint;
  /** Age of the newest applied entry while behind (its primary timestamp); 0 when caught up. */
  readonly lagMs: number;
  readonly degraded: boolean;
  readonly divergent: boolean;
  /** The newest skipped ranges (bounded: applier.skippedRangesMax). */
  readonly skipped: readonly SeqRange[];
  /** Every seq ever skipped, counted (not bounded like `skipped`). */
  readonly skippedEntries: bigint;
  readonly corruptRecords: number;
  /** Preconditions a forced promotion waived. */
  readonly promotionOverrides: readonly string[];
  readonly promotionAttempts: number;
  readonly lastPromotionError: string | undefined;
  /** The last error that degraded, failed or fenced the node (kept after recovery). */
  readonly lastError: string | undefined;
  /** The writer's epoch once this node is primary. */
  readonly epoch: bigint | undefined;
  /** lastSeq of the newest snapshot this node took or installed (0: none). */
  readonly snapshotSeq: bigint;
}
