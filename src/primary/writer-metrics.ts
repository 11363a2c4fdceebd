/**
 * What the primary writer reports through the Metrics port (src/core/telemetry.ts):
 * every append's outcome and its call → answer time, each record's size, and each
 * store's append time and errors. One instance per writer; instruments are created
 * once, here.
 */
import { OplogError, UnknownOutcomeError } from '../core/errors.js';
import type { Metrics } from '../core/telemetry.js';

/** ok: durable in every store; refused: bad input or overloaded, nothing queued; failed: provably not written; unknown: may be in the log. */
export type AppendResult = 'ok' | 'refused' | 'failed' | 'unknown';

export class WriterMetrics {
  private readonly appends;
  private readonly appendSeconds;
  private readonly recordEntries;
  private readonly recordBytes;
  private readonly storeSeconds;
  private readonly storeErrors;

  constructor(metrics: Metrics) {
    this.appends = metrics.counter('oplog_appends_total', 'Appends by outcome', ['result']);
    this.appendSeconds = metrics.histogram(
      'oplog_append_duration_seconds',
      'From append() to its answer (durable in every store, or the error)',
      [],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    );
    this.recordEntries = metrics.histogram(
      'oplog_record_entries',
      'Entries per batch record',
      [],
      [1, 4, 16, 64, 256, 1024, 4096],
    );
    this.recordBytes = metrics.histogram(
      'oplog_record_bytes',
      'Stored bytes per batch record',
      [],
      [256, 1024, 4096, 16384, 65536, 262144, 921600],
    );
    this.storeSeconds = metrics.histogram(
      'oplog_store_append_duration_seconds',
      'One append attempt to one store',
      ['store'],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    );
    this.storeErrors = metrics.counter('oplog_store_errors_total', 'Failed store append attempts', [
      'store',
      'code',
    ]);
  }

  appended(result: AppendResult, seconds?: number): void {
    this.appends.inc({ result });
    if (seconds !== undefined) this.appendSeconds.observe({}, seconds);
  }

  /** The result of an append that was queued and then rejected with `error`. */
  rejected(error: unknown, seconds: number): void {
    this.appended(error instanceof UnknownOutcomeError ? 'unknown' : 'failed', seconds);
  }

  record(entries: number, bytes: number): void {
    this.recordEntries.observe({}, entries);
    this.recordBytes.observe({}, bytes);
  }

  storeAppend(store: string, seconds: number, error?: unknown): void {
    this.storeSeconds.observe({ store }, seconds);
    if (error !== undefined)
      this.storeErrors.inc({ store, code: error instanceof OplogError ? error.code : 'UNKNOWN' });
  }
}
