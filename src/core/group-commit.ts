/**
 * The primary's batching brain (DESIGN.md "Write path"). Pure: the shell calls
 * {@link GroupCommitPlanner.offer}, {@link GroupCommitPlanner.tick} and the write
 * callbacks with `nowMs`, and carries out the returned {@link PlannerOutput} in order.
 *
 * - offer() assigns the next seq at once (contiguous, never reused) or refuses with a
 *   reason, so a refused op never holds a seq.
 * - A batch is cut at once when nothing is in flight; otherwise when the queue reaches
 *   `batchEntriesMax` or `batchBytesMax`, or its oldest op has waited `lingerMs`.
 * - At most `pipelineDepth` batches are in flight at the leading store; acks are
 *   released strictly in seq order, whatever order the writes complete in.
 * - **Run-ahead**: a batch one store holds no longer holds the pipeline, so the fastest
 *   store does not wait for the slowest (a standby following it keeps up) while acks
 *   still wait for every store. Batches cut and not yet acknowledged stay within
 *   `runAheadBytesMax` (and `pipelineDepth` of them are always allowed).
 * - A retryable failure re-emits the same batch (same seqs, same ts: byte-identical).
 * - A fencing failure is terminal: every queued and in-flight op fails, nothing acks again.
 */
import { assert } from './errors.js';
import type { EntryFields } from './entry-codec.js';
import type { Epoch, Op, Seq, SeqRange } from './types.js';

export interface PlannerLimits {
  /** Most entries in one batch record. */
  readonly batchEntriesMax: number;
  /** Most estimated encoded bytes in one batch (keep under the record cap). */
  readonly batchBytesMax: number;
  /** How long an op may wait for company while a batch is in flight. */
  readonly lingerMs: number;
  /** Batches written concurrently to the leading store; ≥ 1. */
  readonly pipelineDepth: number;
  /**
   * Estimated bytes of batches cut and not yet in every store, past `pipelineDepth`
   * batches: how far the fastest store may run ahead of the slowest. 0: not at all.
   */
  readonly runAheadBytesMax: number;
  /** Bounds of the queue of ops not yet acknowledged (queued + in flight). */
  readonly queueEntriesMax: number;
  readonly queueBytesMax: number;
}

export interface PlannedBatch {
  readonly batchId: number;
  readonly epoch: Epoch;
  readonly entries: readonly EntryFields[];
  readonly bytes: number;
}

export type OfferResult =
  | { readonly accepted: true; readonly seq: Seq }
  | { readonly accepted: false; readonly reason: 'overloaded' | 'fenced' };

/** What the shell must do, in this order: write, then resolve acks, then fail. */
export interface PlannerOutput {
  /** Batches to write now, in seq order (new or retried). */
  readonly write: readonly PlannedBatch[];
  /** Seq ranges now durable in every store, in seq order. */
  readonly ack: readonly SeqRange[];
  /** Ranges that will never be acknowledged: the writer was fenced. */
  readonly fail: readonly SeqRange[];
  /** When to call tick() next (a linger deadline), if anything waits on time. */
  readonly nextTickAtMs: number | undefined;
}

interface Queued {
  readonly entry: EntryFields;
  readonly bytes: number;
  readonly queuedAtMs: number;
}

interface InFlight {
  readonly batch: PlannedBatch;
  /** Some store holds it (the leading one): it no longer counts against the depth. */
  leadWritten: boolean;
  /** Every store holds it. */
  written: boolean;
}

export type PlannerState = 'running' | 'fenced';

export class GroupCommitPlanner {
  private nextSeqValue: bigint;
  private readonly queue: Queued[] = [];
  private queueHead = 0;
  /** In seq order; the first is the oldest unacknowledged batch. */
  private readonly inFlight: InFlight[] = [];
  private nextBatchId = 1;
  private bufferedEntries = 0;
  private bufferedBytes = 0;
  /** Estimated bytes queued but not yet cut into a batch. */
  private unbatchedBytes = 0;
  /** In-flight batches no store holds yet, and the estimated bytes of all in flight. */
  private leadingInFlight = 0;
  private inFlightBytes = 0;
  private stateValue: PlannerState = 'running';

  constructor(
    private readonly limits: PlannerLimits,
    readonly epoch: Epoch,
    /** The first seq this planner assigns: the store head + 1. */
    firstSeq: Seq,
  ) {
    assert(limits.pipelineDepth >= 1, `pipelineDepth ${limits.pipelineDepth} < 1`);
    assert(limits.batchEntriesMax >= 1, `batchEntriesMax ${limits.batchEntriesMax} < 1`);
    assert(firstSeq >= 1n, `firstSeq ${firstSeq} < 1`);
    this.nextSeqValue = firstSeq;
  }

  get state(): PlannerState {
    return this.stateValue;
  }

  /** The seq the next accepted op will get. */
  get nextSeq(): Seq {
    return this.nextSeqValue as Seq;
  }

  get queuedEntries(): number {
    return this.bufferedEntries;
  }

  get queuedBytes(): number {
    return this.bufferedBytes;
  }

  get inFlightBatches(): number {
    return this.inFlight.length;
  }

  /**
   * Whether offers of `entries` ops totalling `bytes` would all be accepted now, one
   * after another: a caller that must write all of a request or none of it asks first.
   */
  canAccept(entries: number, bytes: number): boolean {
    // Fenced: every offer is refused anyway (as fenced), so none is written.
    if (this.stateValue === 'fenced') return true;
    if (entries === 1 && this.bufferedEntries === 0) return true;
    return (
      this.bufferedEntries + entries <= this.limits.queueEntriesMax &&
      this.bufferedBytes + bytes <= this.limits.queueBytesMax
    );
  }

  /**
   * Accepts `op` (already validated; `bytes` is its encoded-size estimate) under seq
   * nextSeq with `ts = nowMs`, or refuses it without using a seq. A single op larger
   * than the queue bound is accepted only into an empty queue, so it cannot starve.
   */
  offer(op: Op, bytes: number, nowMs: number): OfferResult {
    if (this.stateValue === 'fenced') return { accepted: false, reason: 'fenced' };
    const empty = this.bufferedEntries === 0;
    if (
      !empty &&
      (this.bufferedEntries + 1 > this.limits.queueEntriesMax ||
        this.bufferedBytes + bytes > this.limits.queueBytesMax)
    ) {
      return { accepted: false, reason: 'overloaded' };
    }
    const seq = this.nextSeqValue as Seq;
    this.nextSeqValue += 1n;
    this.queue.push({
      entry: { seq, epoch: this.epoch, ts: nowMs, type: op.type, key: op.key, value: op.value },
      bytes,
      queuedAtMs: nowMs,
    });
    this.bufferedEntries += 1;
    this.bufferedBytes += bytes;
    this.unbatchedBytes += bytes;
    return { accepted: true, seq };
  }

  /** Cuts whatever batches are due at `nowMs`. */
  tick(nowMs: number): PlannerOutput {
    return this.output(this.maybeCut(nowMs), [], []);
  }

  /**
   * Some store (not yet every one) holds `batchId`: it stops counting against the
   * pipeline depth, so the leading store gets the next batches (within the run-ahead
   * bound). Optional: with one store, or when a store's progress is not tracked,
   * onWritten alone gives the behaviour without run-ahead. A batch already
   * acknowledged is ignored (the two may arrive in either order).
   */
  onLeadWritten(batchId: number, nowMs: number): PlannerOutput {
    if (this.stateValue === 'fenced') return this.output([], [], []);
    // Already acknowledged (every store held it first): nothing left to free.
    const flight = this.inFlight.find((f) => f.batch.batchId === batchId);
    if (flight === undefined) return this.output([], [], []);
    this.markLeadWritten(flight);
    return this.output(this.maybeCut(nowMs), [], []);
  }

  /** Every store holds `batchId`. Releases acks in seq order and cuts what is due. */
  onWritten(batchId: number, nowMs: number): PlannerOutput {
    if (this.stateValue === 'fenced') return this.output([], [], []);
    const flight = this.inFlight.find((f) => f.batch.batchId === batchId);
    assert(flight !== undefined, `onWritten for unknown batch ${batchId}`);
    assert(!flight.written, `batch ${batchId} written twice`);
    this.markLeadWritten(flight);
    flight.written = true;
    const ack: SeqRange[] = [];
    while (this.inFlight[0]?.written === true) {
      const done = this.inFlight.shift()!;
      const entries = done.batch.entries;
      ack.push({ fromSeq: entries[0]!.seq, toSeq: entries[entries.length - 1]!.seq });
      this.bufferedEntries -= entries.length;
      this.bufferedBytes -= done.batch.bytes;
      this.inFlightBytes -= done.batch.bytes;
    }
    return this.output(this.maybeCut(nowMs), ack, []);
  }

  private markLeadWritten(flight: InFlight): void {
    if (flight.leadWritten) return;
    flight.leadWritten = true;
    this.leadingInFlight--;
  }

  /** A write of `batchId` failed transiently: write the same batch again. */
  onRetryableFailure(batchId: number): PlannerOutput {
    if (this.stateValue === 'fenced') return this.output([], [], []);
    const flight = this.inFlight.find((f) => f.batch.batchId === batchId);
    assert(flight !== undefined && !flight.written, `retry of unknown or written batch ${batchId}`);
    return this.output([flight.batch], [], []);
  }

  /** A store fenced us. Terminal: everything not yet acknowledged fails. */
  onFenced(): PlannerOutput {
    if (this.stateValue === 'fenced') return this.output([], [], []);
    this.stateValue = 'fenced';
    const fail: SeqRange[] = [];
    const firstUnacked = this.inFlight[0]?.batch.entries[0]?.seq ?? this.queue[this.queueHead]?.entry.seq;
    if (firstUnacked !== undefined)
      fail.push({ fromSeq: firstUnacked, toSeq: (this.nextSeqValue - 1n) as Seq });
    this.inFlight.length = 0;
    this.queue.length = 0;
    this.queueHead = 0;
    this.bufferedEntries = 0;
    this.bufferedBytes = 0;
    this.unbatchedBytes = 0;
    this.leadingInFlight = 0;
    this.inFlightBytes = 0;
    return this.output([], [], fail);
  }

  private maybeCut(nowMs: number): PlannedBatch[] {
    const cut: PlannedBatch[] = [];
    while (this.stateValue === 'running' && this.hasRoom() && this.isDue(nowMs)) {
      const batch = this.cutOne();
      this.inFlight.push({ batch, leadWritten: false, written: false });
      this.leadingInFlight++;
      this.inFlightBytes += batch.bytes;
      cut.push(batch);
    }
    return cut;
  }

  /** Room for one more batch: the depth at the leading store, and the run-ahead bound. */
  private hasRoom(): boolean {
    if (this.inFlight.length < this.limits.pipelineDepth) return true;
    return (
      this.leadingInFlight < this.limits.pipelineDepth && this.inFlightBytes < this.limits.runAheadBytesMax
    );
  }

  private isDue(nowMs: number): boolean {
    const pending = this.queue.length - this.queueHead;
    if (pending === 0) return false;
    if (this.leadingInFlight === 0) return true;
    if (pending >= this.limits.batchEntriesMax) return true;
    if (this.unbatchedBytes >= this.limits.batchBytesMax) return true;
    return nowMs - this.queue[this.queueHead]!.queuedAtMs >= this.limits.lingerMs;
  }

  private cutOne(): PlannedBatch {
    const entries: EntryFields[] = [];
    let bytes = 0;
    while (this.queueHead < this.queue.length && entries.length < this.limits.batchEntriesMax) {
      const next = this.queue[this.queueHead]!;
      if (entries.length > 0 && bytes + next.bytes > this.limits.batchBytesMax) break;
      entries.push(next.entry);
      bytes += next.bytes;
      this.unbatchedBytes -= next.bytes;
      this.queueHead++;
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    return { batchId: this.nextBatchId++, epoch: this.epoch, entries, bytes };
  }

  private output(write: PlannedBatch[], ack: SeqRange[], fail: SeqRange[]): PlannerOutput {
    const waiting = this.queue[this.queueHead];
    const lingering = this.stateValue === 'running' && waiting !== undefined && this.leadingInFlight > 0;
    return {
      write,
      ack,
      fail,
      nextTickAtMs: lingering ? waiting.queuedAtMs + this.limits.lingerMs : undefined,
    };
  }
}
