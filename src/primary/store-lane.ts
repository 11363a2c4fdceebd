/**
 * One store's write lane for the primary: records go to the store in seq order with
 * several in flight (the LogStore port keeps call order, and a store may share one
 * transaction or fsync among queued records), and each one's promise resolves only
 * once the store holds it *and* every record before it.
 *
 * When a first attempt fails transiently (StoreUnavailableError), the records issued
 * after it fail too, as not contiguous: each is tried again with the same bytes once
 * its predecessor is durable (an idempotent retry; `retry` owns the backoff and gives
 * up when the writer stops). Until the lane has caught up, new records wait their turn
 * instead of being issued at once. Any other refusal (fenced, conflict, bad bytes) is
 * final and rejects the record.
 *
 * The lane also remembers what the store may hold, so a writer that stops can tell each
 * record's fate ({@link StoreLane.outcome}): held, provably not written, or unknown.
 */
import {
  ConflictError,
  FencedError,
  InvalidInputError,
  MalformedError,
  NotContiguousError,
  StoreUnavailableError,
  TooLargeError,
} from '../core/errors.js';
import type { BatchRecord } from '../core/record-codec.js';
import type { Epoch } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';

/** A record not issued at once: it waits for its predecessor, then goes through `retry`. */
const NOT_ISSUED = Symbol('not issued');

/** What one store is known to hold of one record, once its lane has settled. */
export type LaneOutcome = 'held' | 'not-written' | 'unknown';

export class StoreLane {
  private tail: Promise<void> = Promise.resolve();
  /** Issue records as they come; false from a failed first attempt until caught up. */
  private eager = true;
  private submitted = 0;
  /**
   * The store holds every seq up to here: an append resolved for a record ending here.
   * Prefix-closed, because a store only appends at head + 1.
   */
  private heldThroughSeq = 0n;
  /**
   * firstSeqs of records above heldThroughSeq that an attempt may have written: one
   * failed in a way that does not prove the store refused it (a timeout, a lost reply).
   */
  private readonly maybeWritten = new Set<bigint>();

  constructor(
    readonly store: LogStore,
    /** Calls `append` until it succeeds or the writer gives up; owns the backoff. */
    private readonly retry: (store: LogStore, append: () => Promise<void>) => Promise<void>,
    /** Told of every attempt: how long it took, and its error if it failed. */
    private readonly observe: (seconds: number, error?: unknown) => void = () => {},
  ) {}

  submit(record: BatchRecord, epoch: Epoch): Promise<void> {
    const id = ++this.submitted;
    const previous = this.tail;
    const append = () => this.attempt(record, epoch);
    const first: Promise<unknown> = this.eager
      ? append().then(
          () => undefined,
          (error: unknown) => {
            this.eager = false;
            return error ?? new Error('store append failed without an error');
          },
        )
      : Promise.resolve(NOT_ISSUED);
    const done = (async () => {
      const error = await first;
      await previous;
      if (error === undefined) return;
      if (error !== NOT_ISSUED && !recoverable(error)) throw error;
      await this.retry(this.store, append);
      if (id === this.submitted) this.eager = true;
    })();
    this.tail = done;
    return done;
  }

  /**
   * What the store holds of `record`. Meaningful once {@link settled} has resolved:
   * before that an attempt may still be in flight.
   */
  outcome(record: BatchRecord): LaneOutcome {
    if (record.lastSeq <= this.heldThroughSeq) return 'held';
    return this.maybeWritten.has(record.firstSeq) ? 'unknown' : 'not-written';
  }

  /** Resolves once every submitted record has settled (held or failed). */
  settled(): Promise<void> {
    return this.tail.catch(() => undefined);
  }

  /** One append of `record`, noting what its result proves about the store. */
  private async attempt(record: BatchRecord, epoch: Epoch): Promise<void> {
    const startedAt = performance.now();
    try {
      await this.store.append(record, epoch);
    } catch (error) {
      this.observe((performance.now() - startedAt) / 1000, error);
      if (!provesNotWritten(error)) this.maybeWritten.add(record.firstSeq);
      throw error;
    }
    this.observe((performance.now() - startedAt) / 1000);
    if (record.lastSeq > this.heldThroughSeq) this.heldThroughSeq = record.lastSeq;
    this.maybeWritten.delete(record.firstSeq);
  }
}

function recoverable(error: unknown): boolean {
  return (error instanceof StoreUnavailableError && error.retryable) || error instanceof NotContiguousError;
}

/**
 * Refusals that a store gives only without writing: its epoch compare failed, the
 * record was not at head + 1, another record holds the seq, or the bytes were refused
 * before any I/O. Anything else (unavailable, timed out, closed mid-call, a fence that
 * met a commit in progress) may have landed.
 */
function provesNotWritten(error: unknown): boolean {
  return (
    (error instanceof FencedError && !error.mayHaveLanded) ||
    error instanceof NotContiguousError ||
    error instanceof ConflictError ||
    error instanceof TooLargeError ||
    error instanceof InvalidInputError ||
    error instanceof MalformedError
  );
}
