/**
 * The writer port: what a promotion needs from the writer it starts, as a small
 * structural interface, so `standby/` depends on no other role. The node supervisor
 * (src/node) injects the factory; `PrimaryWriter.start` satisfies it.
 */
import type { Compression } from '../core/compression.js';
import type { OplogError } from '../core/errors.js';
import type { Entry, Epoch } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';

/** What a promotion hands the factory; a factory may add its own settings. */
export interface WriterStartOptions {
  /** The stores to fence and write (already wrapped by the promotion's epoch claim). */
  readonly stores: readonly LogStore[];
  readonly compression: Compression;
  /**
   * Runs after the stores are fenced and reconciled, before the writer exists (the
   * standby drains the log to `headSeq` here). Throwing must abort the start.
   */
  readonly beforeStart: (epoch: Epoch, headSeq: bigint) => Promise<void>;
  /** Called once when the writer stops for good (FencedError, ClosedError, or why). */
  readonly onStopped: (error: OplogError) => void;
  /**
   * Called with each record's entries once every store holds it, in seq order, before
   * its appends resolve: the promoted node applies what it acknowledges from here
   * instead of reading its own log back. Must not throw.
   */
  readonly onAcknowledged: (entries: readonly Entry[]) => void;
}

/** The writer a promotion hands out: the standby only reads its epoch and closes it. */
export interface PromotedWriter {
  readonly epoch: Epoch;
  close(): Promise<void>;
}

/**
 * Starts a writer: fences every store at a new epoch, reconciles them, calls
 * `beforeStart`, and resolves with the running writer. Rejects if any step fails; a
 * rejection after the fence leaves the stores fenced (the promotion then retries).
 */
export type WriterFactory<W extends PromotedWriter = PromotedWriter> = (
  options: WriterStartOptions,
) => Promise<W>;
