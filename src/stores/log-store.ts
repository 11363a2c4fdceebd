/**
 * The LogStore port (DESIGN.md "LogStore contract"). Every place the log can live —
 * memory, file, etcd, Kafka — implements this interface, and one contract suite
 * (test/contract/) runs against each. The doc comments are the contract.
 */
import type { BatchRecord, VerifiedRecord } from '../core/record-codec.js';
import type { Epoch, Head, Seq } from '../core/types.js';

/** Whether a subscription currently sees its store. */
export type Visibility = 'visible' | 'blind';

export type SubscriptionEvent =
  /** The next record, in seq order, never one already delivered by this subscription. */
  | { readonly type: 'record'; readonly record: VerifiedRecord }
  /**
   * The subscription's view changed: `visible` after the first successful read and
   * after every recovery; `blind` when the store cannot be reached (with the cause).
   * While blind the subscription retries by itself and resumes at the last delivered
   * seq + 1.
   */
  | { readonly type: 'visibility'; readonly visibility: Visibility; readonly cause?: unknown };

/** An async stream of events; `close()` ends it (a pending `next()` resolves done). */
export interface Subscription extends AsyncIterable<SubscriptionEvent> {
  close(): void;
}

export interface LogStore {
  /** `memory`, `file`, `etcd` or `kafka`, for logs and errors. */
  readonly kind: string;

  /**
   * Appends one batch record under the fencing token `epoch`; resolves only once the
   * record is durable. Calls may overlap: records are stored in call order, so a
   * pipelining writer may call again before the previous call resolves.
   *
   * - A byte-identical record already stored at `record.firstSeq` resolves (an
   *   idempotent retry), whatever the epoch now is: it was committed when it was valid.
   * - `epoch` is not the store's current epoch: {@link FencedError} (also when a
   *   different record already holds the seq: a zombie learns it is fenced).
   * - A different record covering `record.firstSeq`, under the current epoch:
   *   {@link ConflictError}.
   * - `record.firstSeq ≠ head.lastSeq + 1`: {@link NotContiguousError}.
   * - Bytes that fail verification or exceed the record cap: ChecksumMismatchError,
   *   MalformedError or TooLargeError; a record whose epoch exceeds `epoch`:
   *   InvalidInputError. Nothing is written in any of these cases.
   * - The store cannot be reached: {@link StoreUnavailableError} (retryable; the record
   *   may or may not be stored, so retry the same bytes).
   */
  append(record: BatchRecord, epoch: Epoch): Promise<void>;

  /**
   * Every record from the one covering `fromSeq` to the end of the log, in order,
   * fetched page by page (never only one page); at most `limitRecords` records.
   * {@link TruncatedError} when retention removed `fromSeq`. Records are verified
   * (checksums) before they are yielded; a bad one is {@link CorruptStoreError}.
   */
  read(fromSeq: Seq, limitRecords?: number): AsyncIterable<VerifiedRecord>;

  /** The last committed record's `{lastSeq, epoch}`; `{0, 0}` when empty. */
  head(): Promise<Head>;

  /** The store's current fencing epoch (0 before the first fence). */
  currentEpoch(): Promise<Epoch>;

  /**
   * Makes `epoch` current. After it resolves no append with an older epoch succeeds.
   * `epoch` must exceed the current epoch: otherwise {@link FencedError} (another
   * writer got there first).
   */
  fence(epoch: Epoch): Promise<void>;

  /**
   * Follows the log from the record covering `fromSeq`: first what is stored, then new
   * records as they commit. Survives interruptions: reports `blind`, retries, resumes
   * at the last delivered seq + 1. Ends with {@link TruncatedError} when `fromSeq` is
   * below retention.
   */
  subscribe(fromSeq: Seq): Subscription;

  /**
   * Retention: removes whole records (or segments) entirely below `seq`. Never removes
   * the head record. Callers keep `seq` at or below the latest snapshot's seq.
   */
  truncateBefore(seq: Seq): Promise<void>;

  /** Releases everything; later calls reject with {@link ClosedError}. */
  close(): Promise<void>;
}

export type { BatchRecord, VerifiedRecord };
