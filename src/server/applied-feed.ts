/**
 * The applied entries of one node, as the change stream (`GET /v1/watch`) serves them:
 * a state machine wrapper that hands every entry it applies, in seq order, to a bounded
 * ring of the newest ones and to live listeners. A watcher resumes from the ring, or
 * from the log when it asks for older seqs (watch.ts).
 *
 * Values are kept as given (the caller passes a copy it will not mutate), so a ring
 * entry never pins the decompressed record it came from.
 *
 * A restore (snapshot install) replaces the state at once: the seqs in between were
 * never applied here one by one, so the ring is emptied and listeners are told, and a
 * watcher that spanned it is cut with that reason rather than shown a hole.
 */
import type { Entry } from '../core/types.js';

export interface FeedLimits {
  /** Most entries the ring keeps. */
  readonly ringEntriesMax: number;
  /** Most value bytes the ring keeps (values are copied: a ring must not pin records). */
  readonly ringBytesMax: number;
}

export interface FeedListener {
  entry(entry: Entry): void;
  /** The state was replaced by a snapshot through `lastSeq`: the stream has a hole. */
  restored(lastSeq: bigint): void;
}

export class AppliedFeed {
  private ring: Entry[] = [];
  private start = 0;
  private ringBytes = 0;
  private readonly listeners = new Set<FeedListener>();
  /** Seq of the last entry applied (or restored to). */
  lastSeq = 0n;

  constructor(private readonly limits: FeedLimits) {}

  /** Seq of the oldest entry the ring holds; lastSeq + 1 when it holds none. */
  get firstRingSeq(): bigint {
    return this.ring[this.start]?.seq ?? this.lastSeq + 1n;
  }

  /** Entries of the ring with seq ≥ fromSeq, oldest first. */
  since(fromSeq: bigint): Entry[] {
    const out: Entry[] = [];
    for (let i = this.start; i < this.ring.length; i++)
      if (this.ring[i]!.seq >= fromSeq) out.push(this.ring[i]!);
    return out;
  }

  listen(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * `entry.value` must be the feed's to keep (a copy no one mutates): the served state
   * hands over the key-value machine's own copy of a put's value, so nothing is copied twice.
   */
  push(entry: Entry): void {
    this.ring.push(entry);
    this.ringBytes += entry.value.length;
    this.lastSeq = entry.seq;
    while (
      this.ring.length - this.start > 1 &&
      (this.ring.length - this.start > this.limits.ringEntriesMax ||
        this.ringBytes > this.limits.ringBytesMax)
    ) {
      this.ringBytes -= this.ring[this.start]!.value.length;
      this.start++;
    }
    // Compact now and then rather than shifting on every push.
    if (this.start > 1024 && this.start * 2 > this.ring.length) {
      this.ring = this.ring.slice(this.start);
      this.start = 0;
    }
    for (const listener of this.listeners) listener.entry(entry);
  }

  restored(lastSeq: bigint): void {
    this.ring = [];
    this.start = 0;
    this.ringBytes = 0;
    this.lastSeq = lastSeq;
    for (const listener of [...this.listeners]) listener.restored(lastSeq);
  }
}
