/**
 * One promotion of a standby (DESIGN.md "Promotion"), split out of standby.ts: the
 * attempts, their epoch (one per promotion, see epoch-claim.ts) and the leaderless
 * retry loop. The standby owns the lifecycle; this file fires its events through the
 * host and never touches the follow loops.
 *
 * - A failure before any store accepted the fence changed nothing: `promotion_aborted`.
 * - A failure after it leaves no writer: `leaderless`, retried with backoff (doubling
 *   to 10× the first delay) for as long as it takes, each retry at the same epoch.
 * - A newer epoch than the claim (another node promoted): `fenced`, never retried.
 * - stop() ends the loop at once (also mid backoff); a writer started after stop() is
 *   closed, never handed out. Either way run() rejects with ClosedError.
 */
import type { Compression } from '../core/compression.js';
import { ClosedError, FencedError, type OplogError } from '../core/errors.js';
import type { StandbyEvent } from '../core/standby-state.js';
import type { Entry } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';
import { abortableSleep } from '../stores/tail-subscription.js';
import { EpochClaim } from './epoch-claim.js';
import type { PromotedWriter, WriterFactory } from './writer-port.js';

export interface PromotionHost {
  fire(event: StandbyEvent): void;
  /** Counts an attempt; returns its number (0-based, over the node's life). */
  beginAttempt(): number;
  attemptFailed(error: unknown): void;
  /** Inside each attempt, after fence and reconciliation: drain to `headSeq`, etc. */
  takeover(attempt: number, store: LogStore, headSeq: bigint): Promise<void>;
  /** The writer handed out by run() stopped for good. */
  writerStopped(error: OplogError): void;
  /** The writer's acknowledged entries, in seq order (the node applies them). */
  acknowledged(entries: readonly Entry[]): void;
  /** The claim was overtaken by a newer epoch (state is then `stopped`). */
  claimFenced(error: FencedError): void;
}

export interface PromotionOptions<W extends PromotedWriter> {
  readonly stores: readonly LogStore[];
  readonly compression: Compression;
  /** Starts the writer (injected: the standby imports no role). */
  readonly startWriter: WriterFactory<W>;
  /** First delay between leaderless attempts, ms. */
  readonly retryMs: number;
}

export class Promotion<W extends PromotedWriter> {
  private readonly claim: EpochClaim;
  private readonly abort = new AbortController();
  private stopping = false;

  constructor(
    private readonly host: PromotionHost,
    private readonly options: PromotionOptions<W>,
  ) {
    this.claim = new EpochClaim(options.stores);
  }

  /** The epoch this promotion fenced, once it has (reused by every retry). */
  get epoch(): bigint | undefined {
    return this.claim.epoch;
  }

  /** Ends the attempts: the one in flight finishes (bounded by its stores), no other starts. */
  stop(): void {
    this.stopping = true;
    this.abort.abort();
  }

  async run(): Promise<W> {
    let delayMs = this.options.retryMs;
    for (;;) {
      try {
        return await this.attempt();
      } catch (error) {
        if (this.stopping) throw new ClosedError('standby (stopped during promotion)', { cause: error });
        this.host.attemptFailed(error);
        if (this.claim.epoch === undefined) {
          this.host.fire('promotion_aborted');
          throw error;
        }
        if (error instanceof FencedError) {
          this.host.claimFenced(error);
          throw error;
        }
        this.host.fire('promotion_failed_after_fence');
        await abortableSleep(delayMs, this.abort.signal);
        delayMs = Math.min(delayMs * 2, this.options.retryMs * 10);
        if (this.stopping) throw new ClosedError('standby (stopped while leaderless)', { cause: error });
        this.host.fire('promote');
      }
    }
  }

  private async attempt(): Promise<W> {
    const attempt = this.host.beginAttempt();
    const stores = this.claim.stores;
    let handedOut = false;
    const writer = await this.options.startWriter({
      stores,
      compression: this.options.compression,
      beforeStart: (_epoch, head) => this.host.takeover(attempt, stores[0]!, head),
      onStopped: (error) => {
        if (handedOut) this.host.writerStopped(error);
      },
      onAcknowledged: (entries) => this.host.acknowledged(entries),
    });
    if (this.stopping) {
      await writer.close();
      throw new ClosedError('standby (stopped during promotion)');
    }
    handedOut = true;
    this.host.fire('promoted');
    return writer;
  }
}
