/**
 * A LogStore that passes everything to another and counts the records appended to it
 * (how many, their entries and stored bytes), keeping the bytes of the first
 * `keepRecords`: what the writer really cut, so a ceiling can send the same bytes.
 */
import type { Epoch, Head, Seq } from '../core/types.js';
import type { BatchRecord, LogStore, Subscription, VerifiedRecord } from '../stores/log-store.js';

export class CountingStore implements LogStore {
  records = 0;
  entries = 0;
  bytes = 0;
  readonly kept: Uint8Array[] = [];

  constructor(
    private readonly inner: LogStore,
    private readonly keepRecords = 0,
  ) {}

  get kind(): string {
    return this.inner.kind;
  }

  /** Forgets the counts (not the kept bytes): a new measured window starts. */
  resetCounts(): void {
    this.records = 0;
    this.entries = 0;
    this.bytes = 0;
  }

  async append(record: BatchRecord, epoch: Epoch): Promise<void> {
    await this.inner.append(record, epoch);
    this.records++;
    this.entries += record.entryCount;
    this.bytes += record.bytes.length;
    if (this.kept.length < this.keepRecords) this.kept.push(record.bytes.slice());
  }

  read(fromSeq: Seq, limitRecords?: number): AsyncIterable<VerifiedRecord> {
    return this.inner.read(fromSeq, limitRecords);
  }

  head(): Promise<Head> {
    return this.inner.head();
  }

  currentEpoch(): Promise<Epoch> {
    return this.inner.currentEpoch();
  }

  fence(epoch: Epoch): Promise<void> {
    return this.inner.fence(epoch);
  }

  subscribe(fromSeq: Seq): Subscription {
    return this.inner.subscribe(fromSeq);
  }

  truncateBefore(seq: Seq): Promise<void> {
    return this.inner.truncateBefore(seq);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
