/**
 * The primary: appends → group-commit planner → one encoded record per batch → every
 * configured store in parallel → acks in seq order once every store holds the record.
 *
 * The planner (src/core) decides; this shell owns the timers, the encoding and the
 * stores. Each store gets its records strictly in order through a lane
 * (store-lane.ts) that keeps up to the pipeline depth in flight, so a store can share
 * one transaction or fsync among them; a transient failure of batch n on one store
 * holds batch n+1 for that store until n is retried through; other stores keep going.
 * Transient errors retry the same bytes with capped backoff; a FencedError from any
 * store stops the writer for good; any other refusal (conflict, gap, integrity) also
 * stops it, and so does close().
 *
 * However it stops, no op is told "failed" that may be in the log (DESIGN.md
 * "Interfaces": safe to retry vs may be in the log). Once the stores' lanes settle,
 * each pending op's record is judged by what every store may hold of it: held by all →
 * acknowledged after all; provably in none → failed with the stop error; anything else
 * → {@link UnknownOutcomeError} with its seq. Ops never cut into a record fail at once.
 *
 * Just over 350 lines: start (fence, reconcile), the planner's shell, the retry loop and
 * the stop's judgement share the waiters and the unacknowledged records; the lanes
 * (./store-lane.ts), reconcile (./reconcile.ts) and metrics (./writer-metrics.ts) are apart.
 */
import { entryBytesEstimate, validateOp, type EntryFields } from '../core/entry-codec.js';
import type { Compression } from '../core/compression.js';
import {
  ClosedError,
  ConfigError,
  FencedError,
  IntegrityError,
  OplogError,
  OverloadedError,
  StoreUnavailableError,
  UnknownOutcomeError,
} from '../core/errors.js';
import {
  GroupCommitPlanner,
  type PlannedBatch,
  type PlannerLimits,
  type PlannerOutput,
} from '../core/group-commit.js';
import { BATCH_BYTES_MAX, RECORD_BYTES_MAX, RECORD_ENTRIES_MAX } from '../core/limits.js';
import { encodeRecord, type BatchRecord } from '../core/record-codec.js';
import { epoch as toEpoch, seq as toSeq, type Entry, type Epoch, type Op, type Seq } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';
import { NO_METRICS, type Logger, type Metrics } from '../core/telemetry.js';
import { reconcileStores } from './reconcile.js';
import { WriterMetrics } from './writer-metrics.js';
import { StoreLane } from './store-lane.js';

export const DEFAULT_PLANNER_LIMITS: PlannerLimits = {
  batchEntriesMax: 1024,
  // Estimated (uncompressed) bytes; the encoded record must stay under the record cap.
  batchBytesMax: Math.floor(RECORD_BYTES_MAX * 0.9),
  lingerMs: 2,
  pipelineDepth: 4,
  // A store may run this far ahead of the slowest one (issue 17: an etcd follower
  // must not wait for Kafka's commits); ~5 s of 5k entries/s of 512-byte values.
  runAheadBytesMax: 16 * 1024 * 1024,
  queueEntriesMax: 100_000,
  queueBytesMax: 256 * 1024 * 1024,
};

/** First and largest delay between retries of a transiently failed store append. */
export const DEFAULT_RETRY_DELAY_MS = 20;
export const DEFAULT_RETRY_DELAY_MAX_MS = 1_000;

export interface PrimaryWriterOptions {
  /** Every store the log lives in; at least one. */
  readonly stores: readonly LogStore[];
  readonly compression: Compression;
  readonly limits?: Partial<PlannerLimits>;
  /** First and largest delay between retries of a transiently failed append. */
  readonly retryDelayMs?: number;
  readonly retryDelayMaxMs?: number;
  /** Wall clock for entry timestamps and the planner; injected in tests. */
  readonly nowMs?: () => number;
  /**
   * Runs after the stores are fenced and reconciled, before the writer exists: a
   * promoting standby drains the log to `headSeq` here. Throwing aborts the start.
   */
  readonly beforeStart?: (epoch: Epoch, headSeq: bigint) => Promise<void>;
  /** Called once every store is fenced at `epoch`: from here on, failing leaves no writer. */
  readonly afterFence?: (epoch: Epoch) => void;
  /**
   * Called once when the writer stops for good, with why (a FencedError when a newer
   * writer fenced it, a ClosedError after close(), or the refusal that stopped it).
   */
  readonly onStopped?: (error: OplogError) => void;
  /** Where appends, records and store attempts are counted and timed. Default: nowhere. */
  readonly metrics?: Metrics;
  /** Where the writer's stop is logged. Default: nowhere. */
  readonly logger?: Logger;
  /**
   * Called with each record's entries once every store holds it, in seq order, just
   * before its appends resolve: a writing node applies what it acknowledges here (so a
   * read on it after an ack sees the write) instead of reading its own log back. Runs
   * inside the writer's bookkeeping: it must not throw, nor append synchronously.
   */
  readonly onAcknowledged?: (entries: readonly Entry[]) => void;
}

export type WriterState = 'running' | 'stopped';

/** A record handed to the lanes, with what onAcknowledged needs of it. */
interface Unacked {
  readonly record: BatchRecord;
  readonly entries: readonly EntryFields[];
  readonly checksums: readonly bigint[];
}

interface Waiter {
  resolve(seq: Seq): void;
  reject(error: unknown): void;
}

export class PrimaryWriter {
  private readonly planner: GroupCommitPlanner;
  private readonly waiters = new Map<bigint, Waiter>();
  /** Records handed to the lanes and not yet acknowledged, by firstSeq, in seq order. */
  private readonly unacked = new Map<bigint, Unacked>();
  /** The last seq handed to onAcknowledged: records are handed on contiguously. */
  private acknowledgedSeq: bigint;
  /** Settles once a stop has given every pending op its answer. */
  private stopped: Promise<void> = Promise.resolve();
  private readonly lanes: StoreLane[];
  private tickTimer: NodeJS.Timeout | undefined;
  private tickAtMs: number | undefined;
  private stateValue: WriterState = 'running';
  private stopError: OplogError | undefined;
  private readonly retryDelayMs: number;
  private readonly retryDelayMaxMs: number;
  private readonly nowMs: () => number;
  private readonly metrics: WriterMetrics;

  private constructor(
    private readonly options: PrimaryWriterOptions,
    readonly epoch: Epoch,
    firstSeq: Seq,
  ) {
    this.planner = new GroupCommitPlanner({ ...DEFAULT_PLANNER_LIMITS, ...options.limits }, epoch, firstSeq);
    this.acknowledgedSeq = firstSeq - 1n;
    this.metrics = new WriterMetrics(options.metrics ?? NO_METRICS);
    this.lanes = options.stores.map(
      (store) =>
        new StoreLane(
          store,
          (_store, append) => this.appendWithRetry(append),
          (seconds, error) => this.metrics.storeAppend(store.kind, seconds, error),
        ),
    );
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.retryDelayMaxMs = options.retryDelayMaxMs ?? DEFAULT_RETRY_DELAY_MAX_MS;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /**
   * Becomes the writer: fences every store at max(current epochs) + 1, reconciles them
   * (missing records copied from the longest store; different bytes at one seq is an
   * IntegrityError and nothing starts), and continues at the common head + 1.
   */
  static async start(options: PrimaryWriterOptions): Promise<PrimaryWriter> {
    if (options.stores.length === 0) throw new ClosedError('primary writer: no stores configured');
    checkLimits({ ...DEFAULT_PLANNER_LIMITS, ...options.limits });
    const epochs = await Promise.all(options.stores.map((s) => s.currentEpoch()));
    const epoch = toEpoch(epochs.reduce((a, b) => (a > b ? a : b), 0n) + 1n);
    // Every fence settles before deciding: one that fails fast must not hide another
    // that is still landing (a promotion then knows whether anything was fenced).
    const fences = await Promise.allSettled(options.stores.map((s) => s.fence(epoch)));
    const refused = fences.find((f): f is PromiseRejectedResult => f.status === 'rejected');
    if (refused !== undefined) throw refused.reason;
    options.afterFence?.(epoch);
    const head = await reconcileStores(options.stores, epoch);
    await options.beforeStart?.(epoch, head);
    return new PrimaryWriter(options, epoch, toSeq(head + 1n));
  }

  get state(): WriterState {
    return this.stateValue;
  }

  /** Why the writer stopped (a FencedError, or the refusal that stopped it). */
  get error(): OplogError | undefined {
    return this.stopError;
  }

  get nextSeq(): Seq {
    return this.planner.nextSeq;
  }

  /**
   * Resolves with the op's seq once every store holds it. Bad input rejects at once.
   * The op's value is encoded (and, with onAcknowledged, applied) later: it must not
   * change until the append settles.
   */
  append(op: Op): Promise<Seq> {
    return this.appendOne(op);
  }

  /** Appends in order; resolves with each op's seq. An op refused early rejects the whole call. */
  async appendMany(ops: readonly Op[]): Promise<Seq[]> {
    return Promise.all(this.appendAll(ops));
  }

  /**
   * All of `ops` or none: every op is validated and the queue must have room for all of
   * them before any is given a seq, else this throws (the typed refusal, nothing
   * queued). Returns one promise per op, in order, each settling as append()'s does.
   */
  appendAll(ops: readonly Op[]): Promise<Seq>[] {
    let bytes = 0;
    for (const op of ops) {
      validateOp(op);
      bytes += entryBytesEstimate(op);
    }
    if (this.stateValue === 'running' && !this.planner.canAccept(ops.length, bytes)) {
      for (let i = 0; i < ops.length; i++) this.metrics.appended('refused');
      throw new OverloadedError(this.planner.queuedEntries, this.planner.queuedBytes);
    }
    return ops.map((op) => this.appendOne(op, true));
  }

  /**
   * Stops accepting; lets queued and in-flight appends finish for up to `drainMs`
   * (a store that stays unavailable would otherwise hold close forever). Then, as for
   * any stop: ops whose record every store holds are acknowledged, ops that provably
   * reached no store fail with ClosedError, the rest with UnknownOutcomeError.
   * Resolves once every op has its answer.
   */
  async close({ drainMs = 30_000 }: { drainMs?: number } = {}): Promise<void> {
    if (this.stateValue === 'running') {
      const deadline = performance.now() + drainMs;
      while (
        this.planner.queuedEntries > 0 &&
        this.stateValue === 'running' &&
        performance.now() < deadline
      ) {
        this.carry(this.planner.tick(Number.MAX_SAFE_INTEGER));
        await Promise.race([this.lanesSettled(), new Promise((r) => setTimeout(r, 50))]);
      }
      this.stop(new ClosedError('primary writer'));
    }
    // Retry loops see the stop at their next attempt; each attempt is bounded by its store.
    await this.stopped;
  }

  private async lanesSettled(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.settled()));
  }

  private appendOne(op: Op, validated = false): Promise<Seq> {
    if (this.stateValue !== 'running')
      return Promise.reject(this.stopError ?? new ClosedError('primary writer'));
    try {
      if (!validated) validateOp(op);
    } catch (error) {
      this.metrics.appended('refused');
      return Promise.reject(error);
    }
    const nowMs = this.nowMs();
    const offered = this.planner.offer(op, entryBytesEstimate(op), nowMs);
    if (!offered.accepted) {
      this.metrics.appended('refused');
      return Promise.reject(
        offered.reason === 'fenced'
          ? (this.stopError ?? new FencedError(this.epoch, undefined))
          : new OverloadedError(this.planner.queuedEntries, this.planner.queuedBytes),
      );
    }
    const startedAt = performance.now();
    const seconds = () => (performance.now() - startedAt) / 1000;
    const promise = new Promise<Seq>((resolve, reject) =>
      this.waiters.set(offered.seq, {
        resolve: (s) => {
          this.metrics.appended('ok', seconds());
          resolve(s);
        },
        reject: (error) => {
          this.metrics.rejected(error, seconds());
          reject(error);
        },
      }),
    );
    this.carry(this.planner.tick(nowMs));
    return promise;
  }

  /** Carries out the planner's output, in its order: write, then ack, then fail. */
  private carry(out: PlannerOutput): void {
    for (const batch of out.write) this.write(batch);
    for (const range of out.ack) {
      const acked = this.unacked.get(range.fromSeq);
      this.unacked.delete(range.fromSeq);
      if (acked !== undefined) this.acknowledged(acked);
      this.settle(range.fromSeq, range.toSeq, (w, s) => w.resolve(toSeq(s)));
    }
    for (const range of out.fail) {
      const error = this.stopError ?? new FencedError(this.epoch, undefined);
      this.settle(range.fromSeq, range.toSeq, (w) => w.reject(error));
    }
    this.scheduleTick(out.nextTickAtMs);
  }

  private settle(fromSeq: bigint, toSeq: bigint, fn: (waiter: Waiter, seq: bigint) => void): void {
    for (let s = fromSeq; s <= toSeq; s++) {
      const waiter = this.waiters.get(s);
      if (waiter === undefined) continue;
      this.waiters.delete(s);
      fn(waiter, s);
    }
  }

  /** Hands a record every store holds to onAcknowledged, if it follows the last one handed on. */
  private acknowledged({ record, entries, checksums }: Unacked): void {
    const hook = this.options.onAcknowledged;
    if (hook === undefined || record.firstSeq !== this.acknowledgedSeq + 1n) return;
    this.acknowledgedSeq = record.lastSeq;
    hook(entries.map((fields, i) => ({ ...fields, checksum: checksums[i]! })));
  }

  private write(batch: PlannedBatch): void {
    let record: BatchRecord;
    let checksums: bigint[];
    try {
      ({ record, checksums } = encodeRecord({
        epoch: this.epoch,
        entries: batch.entries,
        compression: this.options.compression,
      }));
    } catch (error) {
      this.stop(
        error instanceof OplogError ? error : new IntegrityError(batch.entries[0]!.seq, String(error)),
      );
      return;
    }
    this.unacked.set(record.firstSeq, { record, entries: batch.entries, checksums });
    this.metrics.record(record.entryCount, record.bytes.length);
    const submitted = this.lanes.map((lane) => lane.submit(record, this.epoch));
    // The first store to hold it frees its place in the pipeline (run-ahead); the ack
    // still waits for every store.
    if (submitted.length > 1)
      Promise.any(submitted).then(
        () => {
          if (this.stateValue === 'running')
            this.carry(this.planner.onLeadWritten(batch.batchId, this.nowMs()));
        },
        () => undefined,
      );
    Promise.all(submitted).then(
      () => {
        if (this.stateValue === 'running') this.carry(this.planner.onWritten(batch.batchId, this.nowMs()));
      },
      (error: unknown) =>
        this.stop(error instanceof OplogError ? error : new IntegrityError(record.firstSeq, String(error))),
    );
  }

  /** Retries transient failures of one store with the same bytes until it holds them or we stop. */
  private async appendWithRetry(append: () => Promise<void>): Promise<void> {
    let delayMs = this.retryDelayMs;
    for (;;) {
      if (this.stateValue !== 'running') throw this.stopError ?? new ClosedError('primary writer');
      try {
        await append();
        return;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || !error.retryable) throw error;
        await new Promise((r) => setTimeout(r, delayMs * (0.5 + Math.random() / 2)));
        delayMs = Math.min(this.retryDelayMaxMs, delayMs * 2);
      }
    }
  }

  /**
   * Terminal. Ops not yet in a record fail with `error` at once; the ops of records
   * handed to the stores get their answer once every lane has settled ({@link judge}).
   */
  private stop(error: OplogError): void {
    if (this.stateValue === 'stopped') return;
    this.stopError = error;
    this.stateValue = 'stopped';
    clearTimeout(this.tickTimer);
    this.planner.onFenced();
    const records = [...this.unacked.values()];
    this.unacked.clear();
    const lastWrittenSeq = records.at(-1)?.record.lastSeq ?? 0n;
    for (const [s, waiter] of this.waiters) {
      if (s <= lastWrittenSeq) continue;
      this.waiters.delete(s);
      waiter.reject(error);
    }
    this.stopped = this.lanesSettled().then(() => this.judge(records, error));
    this.options.logger?.warn(
      { epoch: String(this.epoch), nextSeq: String(this.planner.nextSeq), code: error.code },
      `primary writer stopped: ${error.message}`,
    );
    this.options.onStopped?.(error);
  }

  /** Answers the ops of `records` (in seq order) by what the stores hold of each. */
  private judge(records: readonly Unacked[], error: OplogError): void {
    for (const unacked of records) {
      const { record } = unacked;
      const outcomes = this.lanes.map((lane) => lane.outcome(record));
      if (outcomes.every((o) => o === 'held')) {
        this.acknowledged(unacked);
        this.settle(record.firstSeq, record.lastSeq, (w, s) => w.resolve(toSeq(s)));
      } else if (outcomes.every((o) => o === 'not-written')) {
        this.settle(record.firstSeq, record.lastSeq, (w) => w.reject(error));
      } else {
        this.settle(record.firstSeq, record.lastSeq, (w, s) =>
          w.reject(new UnknownOutcomeError(s, { cause: error })),
        );
      }
    }
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }

  private scheduleTick(atMs: number | undefined): void {
    if (atMs === undefined || this.stateValue !== 'running') return;
    if (this.tickAtMs !== undefined && this.tickAtMs <= atMs) return;
    clearTimeout(this.tickTimer);
    this.tickAtMs = atMs;
    this.tickTimer = setTimeout(
      () => {
        this.tickAtMs = undefined;
        if (this.stateValue === 'running') this.carry(this.planner.tick(this.nowMs()));
      },
      Math.max(0, atMs - this.nowMs()),
    );
  }
}

/**
 * Refuses limits under which a batch the planner cuts could fail to encode (which would
 * stop the writer) or the writer could not run: a ConfigError before anything is fenced.
 */
function checkLimits(limits: PlannerLimits): void {
  const rules: [keyof PlannerLimits, number, number][] = [
    ['batchEntriesMax', 1, RECORD_ENTRIES_MAX],
    ['batchBytesMax', 1, BATCH_BYTES_MAX],
    ['lingerMs', 0, 60_000],
    ['pipelineDepth', 1, 1024],
    ['runAheadBytesMax', 0, Number.MAX_SAFE_INTEGER],
    ['queueEntriesMax', 1, Number.MAX_SAFE_INTEGER],
    ['queueBytesMax', 1, Number.MAX_SAFE_INTEGER],
  ];
  for (const [field, min, max] of rules) {
    const value = limits[field];
    if (!Number.isInteger(value) || value < min || value > max)
      throw new ConfigError(`limits.${field}`, value, `must be an integer from ${min} to ${max}`);
  }
}
