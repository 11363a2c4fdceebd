/**
 * The standby's ordering brain (DESIGN.md "Read path"). Pure and synchronous: the
 * shell feeds verified entries, the source head and ticks with `nowMs`, and carries
 * out the {@link ApplierOutput}.
 *
 * - seq < expected: a duplicate (or a late entry for a skipped seq): dropped, counted.
 * - seq == expected: applied, then the pending buffer drains.
 * - seq > expected: held in the pending buffer, bounded in entries and bytes. On
 *   overflow the highest seqs are dropped first (they are furthest from applicable),
 *   counted, and become gaps again, to be fetched later.
 * - A gap is fetched after `gapRequestDelayMs`, then again with exponential backoff;
 *   the gap at the head of the line is skipped after `skipTimeoutMs` (policy `skip`:
 *   recorded, counted, node divergent) or halts the applier (policy `halt`).
 * - Epochs never go down along seq: an entry with a lower epoch than one at a lower
 *   seq is a zombie's; it is rejected and its seq stays missing.
 *
 * Values of entries put in the pending buffer are copied, so a record's buffer is not
 * pinned; entries in `apply` may be views into the input: the state machine copies.
 * The standby shell reaches it through StandbyCore (standby-core.ts), which adds the
 * lifecycle.
 *
 * Slightly over 350 lines because the pending buffer, the gap list and the skip rules
 * meet in one invariant (every seq above applied is pending, a gap, or unknown) that
 * each method keeps; its pieces with their own seam (GapList) live beside it.
 */
import { assert } from './errors.js';
import { GapList } from './gap-list.js';
import type { Entry, Epoch, Seq, SeqRange } from './types.js';

export type SkipPolicy = 'skip' | 'halt';

export interface ApplierConfig {
  readonly pendingEntriesMax: number;
  readonly pendingBytesMax: number;
  readonly gapRequestDelayMs: number;
  readonly skipTimeoutMs: number;
  readonly fetchBackoffMs: number;
  readonly fetchBackoffMaxMs: number;
  readonly skipPolicy: SkipPolicy;
  /** Most fetch ranges emitted by one tick. */
  readonly fetchRangesPerTickMax: number;
  /** Most skipped ranges remembered (counters keep the totals). */
  readonly skippedRangesMax: number;
}

/** What the standby shell must do after receive(), observeHead() or tick(). */
export interface ApplierOutput {
  /** Apply in array order; already contiguous. */
  readonly apply: readonly Entry[];
  /** Fetch these ranges from a store; they are gaps past gapRequestDelayMs. */
  readonly fetch: readonly SeqRange[];
  /** Ranges given up after skipTimeoutMs; the node is now divergent. */
  readonly skipped: readonly SeqRange[];
}

export interface ApplierCounters {
  applied: number;
  duplicates: number;
  lateAfterSkip: number;
  zombies: number;
  pendingOverflowDropped: number;
  skippedEntries: bigint;
  skippedRanges: number;
  fetchRequests: number;
  /**
   * Holes that appeared among the known seqs: a missing range touching no known hole,
   * or a hole split in two by an arrival inside it. Extending a hole is not a new one.
   */
  gapsOpened: number;
  /** Holes whose last missing seq arrived. Holes given up are `skippedRanges`. */
  gapsFilled: number;
}

const ENTRY_OVERHEAD_BYTES = 64;

export function entryFootprintBytes(entry: Entry): number {
  return ENTRY_OVERHEAD_BYTES + entry.value.length + entry.key.length * 2 + entry.type.length * 2;
}

export class Applier {
  private expected: bigint;
  private appliedEpochValue: bigint;
  /** Highest seq known to exist (received, or below an observed head). */
  private knownSeq: bigint;
  private readonly pending = new Map<bigint, Entry>();
  private pendingBytesValue = 0;
  /**
   * Conservative bounds over pending: every pending seq ≤ pendingSeqMax and every
   * pending epoch is within [pendingEpochMin, pendingEpochMax]. They only widen until
   * pending empties, so they may over-approximate (costing a scan), never under.
   */
  private pendingSeqMax = 0n;
  private pendingEpochMin = 0n;
  private pendingEpochMax = 0n;
  private readonly gapList = new GapList();
  private readonly skippedList: SeqRange[] = [];
  private haltedValue = false;
  private divergentValue = false;
  private lastNowMs = -Infinity;
  readonly counters: ApplierCounters = {
    applied: 0,
    duplicates: 0,
    lateAfterSkip: 0,
    zombies: 0,
    pendingOverflowDropped: 0,
    skippedEntries: 0n,
    skippedRanges: 0,
    fetchRequests: 0,
    gapsOpened: 0,
    gapsFilled: 0,
  };

  constructor(
    private readonly config: ApplierConfig,
    start: { readonly appliedSeq: Seq; readonly appliedEpoch: Epoch; readonly divergent?: boolean },
  ) {
    assert(config.pendingEntriesMax >= 1, 'pendingEntriesMax must be ≥ 1');
    assert(
      config.skipTimeoutMs > config.gapRequestDelayMs,
      `skipTimeoutMs ${config.skipTimeoutMs} ≤ gapRequestDelayMs ${config.gapRequestDelayMs}`,
    );
    this.expected = start.appliedSeq + 1n;
    this.appliedEpochValue = start.appliedEpoch;
    this.knownSeq = start.appliedSeq;
    this.divergentValue = start.divergent ?? false;
  }

  get appliedSeq(): Seq {
    return (this.expected - 1n) as Seq;
  }
  get appliedEpoch(): Epoch {
    return this.appliedEpochValue as Epoch;
  }
  /** Highest seq known to exist; lag in entries is knownSeq − appliedSeq. */
  get knownHeadSeq(): Seq {
    return this.knownSeq as Seq;
  }
  get halted(): boolean {
    return this.haltedValue;
  }
  get divergent(): boolean {
    return this.divergentValue;
  }
  /** The state is known wrong by a check outside the applier (a checkpoint): divergent until replaced. */
  markDivergent(): void {
    this.divergentValue = true;
  }
  get pendingEntries(): number {
    return this.pending.size;
  }
  get pendingBytes(): number {
    return this.pendingBytesValue;
  }
  get gaps(): readonly SeqRange[] {
    return this.gapList.gaps.map((g) => ({ fromSeq: g.fromSeq as Seq, toSeq: g.toSeq as Seq }));
  }
  get skippedRanges(): readonly SeqRange[] {
    return this.skippedList;
  }

  /** Verified entries from a record (any order, any duplicates). */
  receive(entries: readonly Entry[], nowMs: number): ApplierOutput {
    this.advanceClock(nowMs);
    const apply: Entry[] = [];
    for (const entry of entries) this.receiveOne(entry, apply);
    this.drain(apply);
    return { apply, fetch: [], skipped: [] };
  }

  /** The source says seqs up to `lastSeq` exist: anything missing below is a gap. */
  observeHead(lastSeq: Seq, nowMs: number): ApplierOutput {
    this.advanceClock(nowMs);
    this.noteKnown(lastSeq, false);
    return { apply: [], fetch: [], skipped: [] };
  }

  /** Time passed: request fetches for old gaps, skip (or halt on) expired ones. */
  tick(nowMs: number): ApplierOutput {
    const now = this.advanceClock(nowMs);
    const apply: Entry[] = [];
    const skipped: SeqRange[] = [];
    for (
      let head = this.gapList.first();
      head !== undefined && head.fromSeq === this.expected;
      head = this.gapList.first()
    ) {
      if (now - head.firstSeenMs < this.config.skipTimeoutMs) break;
      if (this.config.skipPolicy === 'halt') {
        this.haltedValue = true;
        break;
      }
      skipped.push(this.skipHead(head.toSeq));
      this.drain(apply);
    }
    return { apply, fetch: this.dueFetches(now), skipped };
  }

  private receiveOne(entry: Entry, apply: Entry[]): void {
    const s: bigint = entry.seq;
    if (s < this.expected) {
      if (this.isSkipped(entry.seq)) this.counters.lateAfterSkip++;
      else this.counters.duplicates++;
      return;
    }
    if (s === this.expected) {
      // Immediately applicable: never competes for a pending slot.
      this.noteKnown(s, true);
      this.applyOne(entry, apply);
      if (this.pending.size > 0) this.drain(apply);
      else if (this.gapList.size > 0) this.gapList.dropBelow(this.expected);
      return;
    }
    if (this.pending.has(s)) {
      this.counters.duplicates++;
      return;
    }
    if (entry.epoch < this.epochFloorBelow(s, entry.epoch)) {
      this.counters.zombies++;
      this.noteKnown(s, false);
      return;
    }
    if (this.pending.size > 0 && entry.epoch > this.pendingEpochMin) this.evictZombiesAbove(s, entry.epoch);
    if (this.isFullFor(entry) && (this.pending.size === 0 || s > this.pendingSeqMax)) {
      // Nothing held is less useful than this entry: drop it without touching pending.
      this.noteKnown(s, false);
      this.addGap(s, s);
      this.counters.pendingOverflowDropped++;
      return;
    }
    this.noteKnown(s, true);
    this.fillGap(s);
    this.insertPending(s, entry);
    this.maybeEvictOverflow();
  }

  private insertPending(s: bigint, entry: Entry): void {
    if (this.pending.size === 0) {
      this.pendingSeqMax = s;
      this.pendingEpochMin = entry.epoch;
      this.pendingEpochMax = entry.epoch;
    } else {
      if (s > this.pendingSeqMax) this.pendingSeqMax = s;
      if (entry.epoch < this.pendingEpochMin) this.pendingEpochMin = entry.epoch;
      if (entry.epoch > this.pendingEpochMax) this.pendingEpochMax = entry.epoch;
    }
    this.pending.set(s, { ...entry, value: entry.value.slice() });
    this.pendingBytesValue += entryFootprintBytes(entry);
  }

  private isFullFor(entry: Entry): boolean {
    return (
      this.pending.size + 1 > this.config.pendingEntriesMax ||
      this.pendingBytesValue + entryFootprintBytes(entry) > this.config.pendingBytesMax
    );
  }

  private applyOne(entry: Entry, apply: Entry[]): void {
    assert(entry.seq === this.expected, () => `applying seq ${entry.seq}, expected ${this.expected}`);
    if (entry.epoch < this.appliedEpochValue) {
      this.counters.zombies++;
      this.addGap(entry.seq, entry.seq);
      return;
    }
    this.fillGap(entry.seq);
    apply.push(entry);
    this.expected += 1n;
    this.appliedEpochValue = entry.epoch;
    this.counters.applied++;
  }

  private drain(apply: Entry[]): void {
    for (
      let next = this.pending.get(this.expected);
      next !== undefined;
      next = this.pending.get(this.expected)
    ) {
      this.pending.delete(this.expected);
      this.pendingBytesValue -= entryFootprintBytes(next);
      const before = this.expected;
      this.applyOne(next, apply);
      if (this.expected === before) break;
    }
    this.gapList.dropBelow(this.expected);
    if (this.haltedValue && this.gapList.first()?.fromSeq !== this.expected) this.haltedValue = false;
  }

  /** Raises the known head to `seq`; seqs between become gaps, and `seq` too unless present. */
  private noteKnown(seq: bigint, present: boolean): void {
    if (seq <= this.knownSeq) return;
    const missingTo = present ? seq - 1n : seq;
    if (missingTo > this.knownSeq) this.addGap(this.knownSeq + 1n, missingTo);
    this.knownSeq = seq;
  }

  /** Marks [fromSeq, toSeq] missing as of now; counts a hole that touches no known one. */
  private addGap(fromSeq: bigint, toSeq: bigint): void {
    const before = this.gapList.size;
    this.gapList.add(fromSeq, toSeq, this.lastNowMs);
    if (this.gapList.size > before) this.counters.gapsOpened++;
  }

  /**
   * `seq` arrived: out of the gap list, counting a hole it closed (or split). Called for
   * every applied entry, so the common case (no gaps) is one length check.
   */
  private fillGap(seq: bigint): void {
    const before = this.gapList.size;
    if (before === 0) return;
    this.gapList.fill(seq);
    const after = this.gapList.size;
    if (after < before) this.counters.gapsFilled++;
    else if (after > before) this.counters.gapsOpened++;
  }

  /** Highest epoch at a seq below `seq`; scans pending only when `epoch` could be under it. */
  private epochFloorBelow(seq: bigint, epoch: bigint): bigint {
    let floor = this.appliedEpochValue;
    if (this.pending.size === 0 || epoch >= this.pendingEpochMax) return floor;
    for (const [s, e] of this.pending) if (s < seq && e.epoch > floor) floor = e.epoch;
    return floor;
  }

  private evictZombiesAbove(seq: bigint, epoch: bigint): void {
    for (const [s, e] of this.pending) {
      if (s > seq && e.epoch < epoch) this.dropPending(s, e, () => this.counters.zombies++);
    }
  }

  private maybeEvictOverflow(): void {
    while (
      this.pending.size > this.config.pendingEntriesMax ||
      this.pendingBytesValue > this.config.pendingBytesMax
    ) {
      let highest: bigint | undefined;
      for (const s of this.pending.keys()) if (highest === undefined || s > highest) highest = s;
      if (highest === undefined) return;
      this.dropPending(highest, this.pending.get(highest)!, () => this.counters.pendingOverflowDropped++);
      let next = 0n;
      for (const s of this.pending.keys()) if (s > next) next = s;
      this.pendingSeqMax = next;
    }
  }

  private dropPending(seq: bigint, entry: Entry, count: () => void): void {
    this.pending.delete(seq);
    this.pendingBytesValue -= entryFootprintBytes(entry);
    this.addGap(seq, seq);
    count();
  }

  private skipHead(toSeq: bigint): SeqRange {
    const range: SeqRange = { fromSeq: this.expected as Seq, toSeq: toSeq as Seq };
    this.counters.skippedEntries += toSeq - this.expected + 1n;
    this.counters.skippedRanges++;
    this.recordSkipped(range);
    this.expected = toSeq + 1n;
    this.divergentValue = true;
    this.gapList.dropBelow(this.expected);
    return range;
  }

  private recordSkipped(range: SeqRange): void {
    const last = this.skippedList[this.skippedList.length - 1];
    if (last !== undefined && last.toSeq + 1n === range.fromSeq) {
      this.skippedList[this.skippedList.length - 1] = { fromSeq: last.fromSeq, toSeq: range.toSeq };
    } else {
      this.skippedList.push(range);
      if (this.skippedList.length > this.config.skippedRangesMax) this.skippedList.shift();
    }
  }

  private isSkipped(seq: Seq): boolean {
    return this.skippedList.some((r) => r.fromSeq <= seq && seq <= r.toSeq);
  }

  /**
   * Gaps due for a fetch. Gaps behind the head of the line are clipped so one tick
   * never asks for more entries than the pending buffer could hold (more would only
   * overflow it).
   */
  private dueFetches(now: number): SeqRange[] {
    const fetch: SeqRange[] = [];
    let budget = BigInt(this.config.pendingEntriesMax);
    for (const gap of this.gapList.gaps) {
      if (fetch.length >= this.config.fetchRangesPerTickMax || budget <= 0n) break;
      if (now - gap.firstSeenMs < this.config.gapRequestDelayMs || now < gap.nextFetchAtMs) continue;
      // The head-of-line gap comes back in order and applies directly: never clipped.
      const span = gap.toSeq - gap.fromSeq + 1n;
      const headOfLine = gap.fromSeq === this.expected;
      const toSeq = !headOfLine && span > budget ? gap.fromSeq + budget - 1n : gap.toSeq;
      if (!headOfLine) budget -= toSeq - gap.fromSeq + 1n;
      fetch.push({ fromSeq: gap.fromSeq as Seq, toSeq: toSeq as Seq });
      const backoff = Math.min(
        this.config.fetchBackoffMaxMs,
        this.config.fetchBackoffMs * 2 ** Math.min(gap.fetchCount, 30),
      );
      gap.fetchCount++;
      gap.nextFetchAtMs = now + backoff;
      this.counters.fetchRequests++;
    }
    return fetch;
  }

  /** Clock skew never moves time backwards inside the applier. */
  private advanceClock(nowMs: number): number {
    if (nowMs > this.lastNowMs) this.lastNowMs = nowMs;
    return this.lastNowMs;
  }
}
