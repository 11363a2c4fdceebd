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
 */
import { NotContiguousError, StoreUnavailableError } from '../core/errors.js';
import type { BatchRecord } from '../core/record-codec.js';
import type { Epoch } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';

/** A record not issued at once: it waits for its predecessor, then goes through `retry`. */
const NOT_ISSUED = Symbol('not issued');

export class StoreLane {
  private tail: Promise<void> = Promise.resolve();
  /** Issue records as they come; false from a failed first attempt until caught up. */
  private eager = true;
  private submitted = 0;

  constructor(
    readonly store: LogStore,
    private readonly retry: (store: LogStore, record: BatchRecord) => Promise<void>,
  ) {}

  submit(record: BatchRecord, epoch: Epoch): Promise<void> {
    const id = ++this.submitted;
    const previous = this.tail;
    const first: Promise<unknown> = this.eager
      ? this.store.append(record, epoch).then(
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
      await this.retry(this.store, record);
      if (id === this.submitted) this.eager = true;
    })();
    this.tail = done;
    return done;
  }

  /** Resolves once every submitted record has settled (held or failed). */
  settled(): Promise<void> {
    return this.tail.catch(() => undefined);
  }
}

function recoverable(error: unknown): boolean {
  return (error instanceof StoreUnavailableError && error.retryable) || error instanceof NotContiguousError;
}
