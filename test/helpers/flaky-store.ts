/**
 * Wraps a real LogStore to inject faults from the outside: `down` makes every call
 * fail as unavailable (a network cut), `fenceDown` only fence(), `hide` makes
 * reads and subscriptions skip the records starting at the given seqs (a record
 * deleted from the store), and `corrupt` makes reads of them throw CorruptStoreError
 * as the etcd and Kafka stores do for flipped bytes. Everything else goes to the real
 * adapter.
 */
import { CorruptStoreError, StoreUnavailableError } from '../../src/core/errors.js';
import type { BatchRecord, VerifiedRecord } from '../../src/core/record-codec.js';
import type { Epoch, Head, Seq } from '../../src/core/types.js';
import type { LogStore, Subscription } from '../../src/stores/log-store.js';
import { Doorbell, tailSubscription } from '../../src/stores/tail-subscription.js';

export class FlakyStore implements LogStore {
  readonly kind: string;
  down = false;
  /** Only fence() fails as unavailable (a link that drops in the middle of a promotion). */
  fenceDown = false;
  /** fence() lands, then its reply is lost (it fails as unavailable), this many times. */
  fenceRepliesLost = 0;
  readonly hide = new Set<bigint>();
  /** First seqs of records whose stored copy fails verification when read. */
  readonly corrupt = new Set<bigint>();
  /** Rung by appends through this wrapper; otherwise a 10 ms poll. */
  private readonly doorbell = new Doorbell(10);

  constructor(private readonly inner: LogStore) {
    this.kind = `flaky ${inner.kind}`;
  }

  /** Calls refused because the link was down. */
  refused = 0;
  /** read() calls made, refused or not. */
  reads = 0;

  private check(operation: string): void {
    if (!this.down) return;
    this.refused++;
    throw new StoreUnavailableError(`${this.kind} ${operation}`, {}, { cause: new Error('link down') });
  }

  async append(record: BatchRecord, epoch: Epoch): Promise<void> {
    this.check('append');
    await this.inner.append(record, epoch);
    this.doorbell.ring();
  }

  async *read(fromSeq: Seq, limitRecords?: number): AsyncIterable<VerifiedRecord> {
    this.reads++;
    this.check('read');
    for await (const record of this.inner.read(fromSeq, limitRecords)) {
      this.check('read');
      if (this.corrupt.has(record.firstSeq))
        throw new CorruptStoreError(
          `${this.kind} record ${record.firstSeq}`,
          record.firstSeq,
          'stored record fails verification',
        );
      if (!this.hide.has(record.firstSeq)) yield record;
    }
  }

  async head(): Promise<Head> {
    this.check('head');
    return this.inner.head();
  }

  async currentEpoch(): Promise<Epoch> {
    this.check('epoch');
    return this.inner.currentEpoch();
  }

  async fence(epoch: Epoch): Promise<void> {
    this.check('fence');
    if (this.fenceDown)
      throw new StoreUnavailableError(`${this.kind} fence`, {}, { cause: new Error('link down') });
    await this.inner.fence(epoch);
    if (this.fenceRepliesLost > 0) {
      this.fenceRepliesLost--;
      throw new StoreUnavailableError(`${this.kind} fence`, {}, { cause: new Error('reply lost') });
    }
  }

  /** Polls (every 10 ms) through this wrapper, so faults apply to subscriptions too. */
  subscribe(fromSeq: Seq): Subscription {
    return tailSubscription(
      {
        read: (from) => this.read(from),
        changeCount: () => this.doorbell.changes,
        waitForChange: (signal, sinceCount) => this.doorbell.wait(signal, sinceCount),
      },
      fromSeq,
      { retryDelayMs: 10, retryDelayMaxMs: 50 },
    );
  }

  truncateBefore(seq: Seq): Promise<void> {
    return this.inner.truncateBefore(seq);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
