/**
 * The applier's record of missing seqs: sorted, disjoint inclusive ranges, each with
 * when it was first seen and its fetch schedule. Bounded by the pending buffer: every
 * hole ends just below a pending entry or at the highest known seq.
 */
export interface Gap {
  fromSeq: bigint;
  toSeq: bigint;
  /** When any seq of this gap was first known to be missing. */
  firstSeenMs: number;
  /** Earliest time the next fetch of this gap may be requested. */
  nextFetchAtMs: number;
  fetchCount: number;
}

export class GapList {
  /** Sorted by fromSeq, disjoint, non-adjacent. */
  readonly gaps: Gap[] = [];

  get size(): number {
    return this.gaps.length;
  }

  first(): Gap | undefined {
    return this.gaps[0];
  }

  /** Marks [fromSeq, toSeq] missing as of nowMs, merging with neighbours. */
  add(fromSeq: bigint, toSeq: bigint, nowMs: number): void {
    if (toSeq < fromSeq) return;
    const gap: Gap = { fromSeq, toSeq, firstSeenMs: nowMs, nextFetchAtMs: 0, fetchCount: 0 };
    let index = this.gaps.findIndex((g) => g.toSeq + 1n >= fromSeq);
    if (index === -1) index = this.gaps.length;
    while (index < this.gaps.length && this.gaps[index]!.fromSeq <= toSeq + 1n) {
      const neighbour = this.gaps[index]!;
      gap.fromSeq = neighbour.fromSeq < gap.fromSeq ? neighbour.fromSeq : gap.fromSeq;
      gap.toSeq = neighbour.toSeq > gap.toSeq ? neighbour.toSeq : gap.toSeq;
      gap.firstSeenMs = Math.min(gap.firstSeenMs, neighbour.firstSeenMs);
      this.gaps.splice(index, 1);
    }
    this.gaps.splice(index, 0, gap);
  }

  /** `seq` arrived: removes it, splitting its gap; both halves keep their history. */
  fill(seq: bigint): void {
    const index = this.gaps.findIndex((g) => g.fromSeq <= seq && seq <= g.toSeq);
    if (index === -1) return;
    const gap = this.gaps[index]!;
    const parts: Gap[] = [];
    if (gap.fromSeq < seq) parts.push({ ...gap, toSeq: seq - 1n });
    if (seq < gap.toSeq) parts.push({ ...gap, fromSeq: seq + 1n });
    this.gaps.splice(index, 1, ...parts);
  }

  /** Forgets every seq below `seq` (applied or skipped). */
  dropBelow(seq: bigint): void {
    while (this.gaps.length > 0 && this.gaps[0]!.toSeq < seq) this.gaps.shift();
    const head = this.gaps[0];
    if (head !== undefined && head.fromSeq < seq) head.fromSeq = seq;
  }
}
