/**
 * A subscription built from two capabilities every store has: read from a seq to the
 * current end, and wait until something may have changed. It delivers each record
 * once in seq order, reports `visible`/`blind`, and after an error retries with capped
 * exponential backoff, resuming at the last delivered seq + 1.
 */
import { OplogError } from '../core/errors.js';
import type { VerifiedRecord } from '../core/record-codec.js';
import type { Seq } from '../core/types.js';
import type { Subscription, SubscriptionEvent, Visibility } from './log-store.js';

export interface TailSource {
  read(fromSeq: Seq): AsyncIterable<VerifiedRecord>;
  /** A counter that moves whenever records may have been added. */
  changeCount(): number;
  /**
   * Resolves when new records may exist: at once if changeCount() has moved past
   * `sinceCount` (a change during the last read is never missed), else on the next
   * change or after a poll interval. Never rejects.
   */
  waitForChange(signal: AbortSignal, sinceCount: number): Promise<void>;
  /** Releases what the source holds for this subscription (a watch, say). */
  close?(): void;
}

export interface RetryPolicy {
  readonly retryDelayMs: number;
  readonly retryDelayMaxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retryDelayMs: 50, retryDelayMaxMs: 2_000 };

/** Errors that retrying cannot fix end the subscription; everything else is blindness. */
function isFatal(error: unknown): boolean {
  return error instanceof OplogError && !error.retryable;
}

export function tailSubscription(
  source: TailSource,
  fromSeq: Seq,
  retry: RetryPolicy = DEFAULT_RETRY,
): Subscription {
  const abort = new AbortController();
  async function* events(): AsyncGenerator<SubscriptionEvent> {
    let nextSeq = fromSeq as bigint;
    let visibility: Visibility | undefined;
    let failures = 0;
    while (!abort.signal.aborted) {
      const sinceCount = source.changeCount();
      try {
        for await (const record of source.read(nextSeq as Seq)) {
          if (abort.signal.aborted) return;
          if (visibility !== 'visible') {
            visibility = 'visible';
            yield { type: 'visibility', visibility };
          }
          if (record.lastSeq < nextSeq) continue;
          nextSeq = record.lastSeq + 1n;
          yield { type: 'record', record };
        }
        failures = 0;
        if (visibility !== 'visible') {
          visibility = 'visible';
          yield { type: 'visibility', visibility };
        }
        await source.waitForChange(abort.signal, sinceCount);
      } catch (cause) {
        if (abort.signal.aborted) return;
        if (isFatal(cause)) throw cause;
        if (visibility !== 'blind') {
          visibility = 'blind';
          yield { type: 'visibility', visibility, cause };
        }
        const delayMs = Math.min(retry.retryDelayMaxMs, retry.retryDelayMs * 2 ** Math.min(failures, 16));
        failures++;
        await abortableSleep(delayMs * (0.5 + Math.random() / 2), abort.signal);
      }
    }
  }
  const iterator = events();
  return {
    close: () => {
      abort.abort();
      source.close?.();
      void iterator.return(undefined);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
}

/**
 * The change counter and wake-up behind a TailSource: ring() on every change (or any
 * doubt); wait() resolves at once if the count moved past `sinceCount`, else on the
 * next ring, on abort, when `isClosed()`, or after `pollIntervalMs` (if given).
 */
export class Doorbell {
  private count = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly pollIntervalMs: number | undefined,
    private readonly isClosed: () => boolean = () => false,
  ) {}

  get changes(): number {
    return this.count;
  }

  ring(): void {
    this.count++;
    for (const waiter of [...this.waiters]) waiter();
  }

  wait(signal: AbortSignal, sinceCount: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (sinceCount !== this.count || this.isClosed() || signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = this.pollIntervalMs === undefined ? undefined : setTimeout(done, this.pollIntervalMs);
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
