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
