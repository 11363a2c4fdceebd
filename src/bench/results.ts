/**
 * The results file of one `oplog bench` run (`bench/results/<date>-<machine>.json`):
 * the machine, the commit, the options and every figure, each headline figure beside
 * the baseline measured in the same run and their ratio. The markdown section and the
 * charts are generated from these files only (report/), never typed by hand.
 *
 * Rates are per second of wall-clock time, latencies in milliseconds, sizes in bytes.
 * A figure that was not measured is absent, never 0; a ratio whose baseline completed
 * nothing is 0, and the row's op counts show it.
 */
import type { PendingMemoryRow, SnapshotRow } from './results-growth.js';

/** The format tag of a results file; bump on an incompatible change. */
export const RESULTS_FORMAT = 'oplog-bench/1';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly node: string;
  readonly platform: string;
  /** Load average (1, 5, 15 minutes) when the run started and when it ended. */
  readonly loadAverageStart: readonly [number, number, number];
  readonly loadAverageEnd: readonly [number, number, number];
  /** The etcd server's version (its status call), when an etcd store was measured. */
  readonly etcdVersion?: string;
  /** The broker's inter.broker.protocol.version (kafkajs reports no release), when Kafka was measured. */
  readonly kafkaVersion?: string;
}

export interface CommitInfo {
  /** `git rev-parse HEAD` in the working directory; `unknown` outside a checkout. */
  readonly sha: string;
  /** Uncommitted changes to tracked files when the run started. */
  readonly dirty: boolean;
}

/** One closed-loop (or fixed-work) measurement. */
export interface Rate {
  readonly ops: number;
  readonly seconds: number;
  readonly entriesPerS: number;
  /** Value bytes per second, in MB (10^6). */
  readonly valueMbPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Throughput at one store, value size and number of concurrent callers. */
export interface ThroughputRow {
  readonly store: string;
  readonly valueBytes: number;
  readonly clients: number;
  /** The PrimaryWriter with its default limits (group commit). */
  readonly ours: Rate;
  /** Records per second and entries per record our writer cut (counted over the case's rounds and warm-ups). */
  readonly oursRecordsPerS: number;
  readonly oursEntriesPerRecord: number;
  /** Baseline: the same writer with `batchEntriesMax: 1` (one record per entry). */
  readonly noGroupCommit: Rate;
  /** Baseline (file store only): each entry's record bytes written to a plain file + fdatasync, by as many callers. */
  readonly rawFdatasync?: Rate;
  readonly oursOverNoGroupCommit: number;
  readonly oursOverRawFdatasync?: number;
}

/** Open-loop latency at one offered rate. */
export interface LatencyRow {
  readonly store: string;
  /** `ours` (group commit) or `no-group-commit` (batchEntriesMax 1). */
  readonly variant: 'ours' | 'no-group-commit';
  readonly valueBytes: number;
  readonly offeredPerS: number;
  /** Completed ops per second over the measured window. */
  readonly achievedPerS: number;
  /** Ops measured (past the warm-up), ops that failed, ops not issued because the step was cut. */
  readonly measuredOps: number;
  readonly failedOps: number;
  readonly notIssuedOps: number;
  /** From each op's intended start to durable, in ms (HDR histogram, 3 significant digits). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** The store could not keep up: completions below 95% of the offered rate, or the step was cut. */
  readonly saturated: boolean;
  /** Call → applied on a standby following each store of the setup (absent in files before it was measured). */
  readonly applied?: readonly AppliedLatency[];
}

/** Call → applied at one offered rate, on an in-process Standby following `source`. */
export interface AppliedLatency {
  /** The store the standby followed; gaps are fetched from the setup's other store, if any. */
  readonly source: string;
  /** Measured ops acknowledged in the step (failed appends are not). */
  readonly measuredOps: number;
  /** From each op's intended start to applied on the standby, in ms (HDR histogram, 3 significant digits). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** Acknowledged ops still not applied when the step's drain ended (counted at the latency they reached). */
  readonly notAppliedOps: number;
  /** Acknowledged out of seq order after their apply time was retired: not timed (0 unless the writer broke its ack order). */
  readonly untimedOps: number;
}

/** One kill -9 of the primary and the failover that followed. */
export interface FailoverRun {
  /** From the kill to the first append acknowledged by the new primary (a higher epoch), ms. */
  readonly totalMs: number;
  /** From the kill to the promoted node's `promoting` state (its log line's time, ms resolution). */
  readonly detectionMs?: number;
  /** From `promoting` to `primary` on the promoted node: fence, drain, reconcile, writer start. */
  readonly promotionMs?: number;
  /** From `primary` to the client's first ok from it. */
  readonly firstAckMs?: number;
  /** Appends acknowledged in this run before the kill. */
  readonly ackedBeforeKill: number;
  /** The killed primary's epoch and the new one's (decimal strings: epochs are u64). */
  readonly fromEpoch: string;
  readonly toEpoch: string;
}

/** The final log of one store after the runs, checked against every append the clients made. */
export interface FailoverCheck {
  readonly store: string;
  readonly entries: number;
  /** Acknowledged and absent: the anomaly a failover must never have. */
  readonly lost: number;
  /** Acknowledged at one seq, found at another. */
  readonly misplaced: number;
  /** One append's key at two or more seqs. */
  readonly duplicated: number;
  /** Refused with "nothing written" (safe to retry), yet present. */
  readonly failedPresent: number;
  /** Present but never appended by the clients (checkpoint entries aside). */
  readonly unexpected: number;
  /** Seqs missing or repeated in the log itself. */
  readonly seqErrors: number;
  /** Appends whose outcome was unknown (connection lost at the kill) found in the log: allowed once. */
  readonly unknownPresent: number;
}

/** Failover (kill -9 of the primary) over `runs`, manual or automatic, through served nodes. */
export interface FailoverRow {
  readonly store: string;
  /** `manual`: POST /v1/promote to the standby right after the kill; `automatic`: `serve --role auto`, the etcd leader key. */
  readonly mode: 'manual' | 'automatic';
  /** The leader key's lease TTL asked for (automatic). */
  readonly leaseTtlS?: number;
  /** Client loops appending through the kill, one entry at a time each. */
  readonly clientLoops: number;
  readonly runs: readonly FailoverRun[];
  /** Over the runs' totalMs: the median (the upper one for an even count) and the largest. */
  readonly p50Ms: number;
  readonly maxMs: number;
  /** Medians of each part over the runs that logged it (they need not add up to p50Ms). */
  readonly detectionP50Ms?: number;
  readonly promotionP50Ms?: number;
  readonly firstAckP50Ms?: number;
  /** Every append of the clients over all runs, by outcome. */
  readonly ackedOps: number;
  readonly failedOps: number;
  readonly unknownOps: number;
  readonly checks: readonly FailoverCheck[];
  /** Sum of the checks' anomalies (all but unknownPresent): anything above 0 is a broken failover. */
  readonly anomalies: number;
}

/**
 * Replay into a fresh node from a log of `entries` entries, in the file store or in a
 * networked one (`etcd`, `kafka`; older files hold file rows only).
 */
export interface ReplayRow {
  readonly store: string;
  readonly entries: number;
  readonly valueBytes: number;
  /** Stored bytes of the log: the segment files (file); the records' bytes as read (etcd, Kafka). */
  readonly logBytes: number;
  /**
   * Opening the log as a reader: the file store reads and verifies every record; etcd
   * and Kafka connect and read the head.
   */
  readonly openSeconds: number;
  /** replay() into a fresh KvStateMachine, open excluded; it ends with the state hash. */
  readonly replaySeconds: number;
  /** Of which (timed again alone): the KvStateMachine's hash of the whole state. */
  readonly stateHashSeconds: number;
  readonly replayEntriesPerS: number;
  /** Baseline: read + verify + decode every record, nothing applied. */
  readonly decodeOnlyEntriesPerS: number;
  /** Baseline (file store only): reading the segment files' bytes (page cache, just written). */
  readonly rawReadEntriesPerS?: number;
  readonly replayOverDecodeOnly: number;
  readonly replayOverRawRead?: number;
  /** Networked stores: this replay's entries/s over the file store's at the same length, same run. */
  readonly replayOverFile?: number;
  /** etcd only: how much its backend grew (status dbSize) while the log was written. */
  readonly etcdDbBytesAdded?: number;
}

/** Our writer against the server's own ceiling for the same record bytes. */
export interface CeilingRow {
  readonly store: string;
  /** What was measured: `ours`, `etcd put`, `kafka producer`, `kafka transactions`. */
  readonly what: string;
  readonly inFlight: number;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerS: number;
  /** Entries per second carried by those records (records × their mean entry count). */
  readonly entriesPerS: number;
  readonly recordBytesMean: number;
  readonly entriesPerRecord: number;
  /** ours entries/s ÷ this ceiling's entries/s (absent on the `ours` row). */
  readonly oursOverThis?: number;
}

/** Appends through `oplog serve` over HTTP, single-entry bodies. */
export interface HttpRow {
  readonly clients: number;
  readonly valueBytes: number;
  readonly serveRequestsPerS: number;
  readonly serveP99Ms: number;
  /** Baseline: a bare node:http server that reads the body and answers, writing nothing. */
  readonly bareRequestsPerS: number;
  /** Baseline: the library PrimaryWriter in this process, as many callers, one entry each. */
  readonly libraryEntriesPerS: number;
  readonly serveOverBare: number;
  readonly serveOverLibrary: number;
}

export interface BenchOptionsRecord {
  readonly quick: boolean;
  readonly scenarios: readonly string[];
  readonly stores: readonly string[];
  readonly caseMs: number;
  readonly rounds: number;
  readonly clients: readonly number[];
  readonly valueBytes: readonly number[];
  readonly rates: readonly number[];
  readonly replayEntries: readonly number[];
  /** Failovers per mode (absent in files before the failover scenario). */
  readonly failoverRuns?: number;
  /** Growth: state sizes (keys) snapshotted and restored (absent in older files). */
  readonly snapshotKeys?: readonly number[];
}

export interface BenchResults {
  readonly format: typeof RESULTS_FORMAT;
  /** The file's stem, `<date>-<machine>[-n]`. */
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The command line, as given after `oplog`. */
  readonly command: readonly string[];
  readonly commit: CommitInfo;
  readonly machine: MachineInfo;
  readonly options: BenchOptionsRecord;
  readonly throughput: readonly ThroughputRow[];
  readonly latency: readonly LatencyRow[];
  readonly replay: readonly ReplayRow[];
  readonly ceilings: readonly CeilingRow[];
  readonly http: readonly HttpRow[];
  /** Absent in files before the failover scenario. */
  readonly failover?: readonly FailoverRow[];
  /** Growth: snapshot and restore against state size (absent in older files). */
  readonly snapshots?: readonly SnapshotRow[];
  /** Growth: memory against pending-buffer fill (absent in older files). */
  readonly pendingMemory?: readonly PendingMemoryRow[];
  /** Scenarios or cases left out, and why. */
  readonly notes: readonly string[];
}

/** A ratio a / b, or 0 when b is 0 (nothing completed: the row says so by its counts). */
export function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}
