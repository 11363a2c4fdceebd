/**
 * The in-memory LogStore: the reference adapter for the contract suite and for tests
 * of the roles. Not durable; everything else about it follows the contract exactly.
 */
import { ClosedError, TruncatedError } from '../core/errors.js';
import type { BatchRecord, VerifiedRecord } from '../core/record-codec.js';
import { epoch as toEpoch, seq as toSeq, type Epoch, type Head, type Seq } from '../core/types.js';
import { AppendQueue } from './append-queue.js';
import type { LogStore, Subscription } from './log-store.js';
import { checkFence, decideAppend, verifyForAppend } from './contract-rules.js';
import { recordIndexCovering } from './record-search.js';
import { Doorbell, tailSubscription } from './tail-subscription.js';

export class MemoryLogStore implements LogStore {
  readonly kind = 'memory';
  /** Contiguous records in seq order: records[i + 1].firstSeq = records[i].lastSeq + 1. */
  private readonly records: VerifiedRecord[] = [];
  private epochValue = toEpoch(0n);
  /** Seqs below this were removed by truncateBefore. */
  private firstAvailableSeq = 1n;
  private closed = false;
  private readonly doorbell = new Doorbell(undefined, () => this.closed);

  constructor(private readonly pageRecords = 64) {}

  /**
   * Appends run one after another, in call order, like a real store's single writer:
   * one record per group, and a refused one fails alone. The pause before each keeps
   * the turn the promise chain this replaced had, so an append called just before
   * close() still meets ClosedError. Fence and retention act at once, outside it.
   */
  private readonly queue = new AppendQueue<{ readonly record: BatchRecord; readonly epoch: Epoch }>({
    cut: () => 1,
    write: async ([append]) => {
      await this.appendNow(append!.item.record, append!.item.epoch);
      append!.resolve();
    },
    onWriteFailure: 'group',
    beforeCut: () => Promise.resolve(),
  });

  append(record: BatchRecord, epoch: Epoch): Promise<void> {
    return this.queue.append({ record, epoch });
  }

  private async appendNow(record: BatchRecord, epoch: Epoch): Promise<void> {
    this.checkOpen();
    const verified = verifyForAppend(record, epoch);
    const decision = await decideAppend(verified, epoch, {
      epoch: this.epochValue,
      lastSeq: this.lastSeq(),
      recordAt: (seq) => {
        const i = recordIndexCovering(this.records, seq);
        return i === undefined ? undefined : this.records[i];
      },
    });
    if (decision === 'duplicate') return;
    // A copy of verified bytes is verified: the same bytes.
    this.records.push({ ...verified, bytes: verified.bytes.slice() } as VerifiedRecord);
    this.doorbell.ring();
  }

  async *read(fromSeq: Seq, limitRecords = Infinity): AsyncIterable<VerifiedRecord> {
    this.checkOpen();
    if (fromSeq < this.firstAvailableSeq) throw new TruncatedError(fromSeq, this.firstAvailableSeq);
    let index = recordIndexCovering(this.records, fromSeq) ?? this.records.length;
    let delivered = 0;
    while (delivered < limitRecords && index < this.records.length) {
      // One page per turn of the event loop, as a remote store would deliver them.
      const page = this.records.slice(index, index + Math.min(this.pageRecords, limitRecords - delivered));
      index += page.length;
      for (const record of page) {
        delivered++;
        yield record;
      }
      await Promise.resolve();
      this.checkOpen();
    }
  }

  async head(): Promise<Head> {
    this.checkOpen();
    const last = this.records.at(-1);
    return last === undefined
      ? { lastSeq: toSeq(this.firstAvailableSeq - 1n), epoch: toEpoch(0n) }
      : { lastSeq: last.lastSeq, epoch: last.epoch };
  }

  async currentEpoch(): Promise<Epoch> {
    this.checkOpen();
    return this.epochValue;
  }

  async fence(epoch: Epoch): Promise<void> {
    this.checkOpen();
    checkFence(epoch, this.epochValue);
    this.epochValue = epoch;
  }

  subscribe(fromSeq: Seq): Subscription {
    this.checkOpen();
    return tailSubscription(
      {
        read: (from) => this.read(from),
        changeCount: () => this.doorbell.changes,
        waitForChange: (signal, sinceCount) => this.doorbell.wait(signal, sinceCount),
      },
      fromSeq,
    );
  }

  async truncateBefore(seq: Seq): Promise<void> {
    this.checkOpen();
    let drop = 0;
    while (drop < this.records.length - 1 && this.records[drop]!.lastSeq < seq) drop++;
    if (drop === 0) return;
    this.firstAvailableSeq = this.records[drop]!.firstSeq;
    this.records.splice(0, drop);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.doorbell.ring();
  }

  private lastSeq(): bigint {
    return this.records.at(-1)?.lastSeq ?? this.firstAvailableSeq - 1n;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('memory store');
  }
}
