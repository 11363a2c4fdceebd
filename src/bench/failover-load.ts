/**
 * The clients of a failover run: `loops` loops, each appending one entry at a time
 * through the HTTP API (OplogClient, both nodes' URLs, so it finds whichever is the
 * primary) and recording every append's outcome for the history check
 * (failover-history.ts). They keep appending through the kill: a refused append
 * (connection refused, "not primary", "failed") is retried as a new append after
 * `retryMs`, so the first ok from the new primary arrives within about `retryMs` of
 * the node accepting appends. A refusal no failover explains (a 4xx other than "not
 * primary": the bench's own bad request) stops the load, and every wait on it fails
 * with that error. Each append has a key of its own: `<prefix>-l<loop>-<n>`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppendOutcomeUnknownError, OplogClient, OplogHttpError } from '../client/oplog-client.js';
import type { AppendRecord } from './failover-history.js';

/** One acknowledged append, timed on the monotonic clock and the wall clock (ms). */
export interface Ack {
  readonly seq: bigint;
  readonly epoch: bigint;
  readonly atMs: number;
  readonly wallMs: number;
}

export interface AppendLoadOptions {
  readonly urls: readonly string[];
  readonly loops: number;
  readonly keyPrefix: string;
  readonly value: Uint8Array;
  /** Wait after a refused append before the next. */
  readonly retryMs: number;
  /** Where every append's outcome is pushed (shared across runs). */
  readonly history: AppendRecord[];
}

export class AppendLoad {
  /** Appends acknowledged so far. */
  acked = 0;
  /** The highest epoch an ack carried. */
  epochMax = 0n;
  private stopped = false;
  private failure: Error | undefined;
  private readonly waiters = new Set<{
    match: (ack: Ack) => boolean;
    resolve: (ack: Ack) => void;
    reject: (error: Error) => void;
  }>();
  private readonly done: Promise<void>;

  constructor(private readonly options: AppendLoadOptions) {
    this.done = Promise.all(Array.from({ length: options.loops }, (_, loop) => this.loop(loop))).then(
      () => undefined,
    );
  }

  /** Resolves with the first ack from now on that `match` accepts, or rejects after `timeoutMs`. */
  nextAck(match: (ack: Ack) => boolean, timeoutMs: number): Promise<Ack> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      const waiter = {
        match,
        resolve: (ack: Ack) => {
          clearTimeout(timer);
          resolve(ack);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching acknowledged append within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Stops the loops; resolves once every append in flight has its outcome (rejects if the load failed). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    for (const waiter of this.waiters) waiter.reject(new Error('failover load: stopped'));
    this.waiters.clear();
    if (this.failure !== undefined) throw this.failure;
  }

  private async loop(loop: number): Promise<void> {
    const { urls, keyPrefix, value, retryMs, history } = this.options;
    const client = new OplogClient({ urls, attempts: 1, retryDelayMs: Math.min(5, retryMs) });
    for (let n = 0; !this.stopped; n++) {
      const key = `${keyPrefix}-l${loop}-${n}`;
      try {
        const { seqs, epoch } = await client.append({ type: 'put', key, value });
        const ack: Ack = { seq: seqs[0]!, epoch, atMs: performance.now(), wallMs: Date.now() };
        history.push({ key, outcome: { kind: 'ok', seq: ack.seq, epoch } });
        this.acknowledged(ack);
      } catch (error) {
        // The client retries only what provably wrote nothing; anything else is unknown.
        history.push({
          key,
          outcome: { kind: error instanceof AppendOutcomeUnknownError ? 'unknown' : 'failed' },
        });
        if (error instanceof OplogHttpError && error.status < 500 && error.code !== 'OPLOG_NOT_PRIMARY')
          return this.fail(new Error(`failover load: append refused: ${error.message}`, { cause: error }));
        await sleep(retryMs);
      }
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.stopped = true;
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters.clear();
  }

  private acknowledged(ack: Ack): void {
    this.acked++;
    if (ack.epoch > this.epochMax) this.epochMax = ack.epoch;
    for (const waiter of [...this.waiters])
      if (waiter.match(ack)) {
        this.waiters.delete(waiter);
        waiter.resolve(ack);
      }
  }
}
