/**
 * Folding of repeated warnings (DESIGN.md "Operating": repeated warnings rate-limited).
 * A source blind for an hour, a promotion refused every two seconds, a gap fetched
 * again and again: each would fill the log with one line per attempt and hide every
 * other line. Folded, the same warning is logged at most once per interval; the ones
 * in between are counted, and the next line of that warning carries the count
 * (`folded: N`) and the range of seqs they touched (`foldedFromSeq`..`foldedToSeq`),
 * when they carried seqs. Nothing is dropped without being counted: a fold that no
 * later warning reports is logged by {@link FoldingLogger.flushExpired} once its
 * interval is over, and by {@link FoldingLogger.flush} on stop.
 *
 * Only warnings fold. Errors, state changes (info) and debug lines always pass, each
 * on its own line. Pure: time comes from the injected clock, nothing here has a timer;
 * the shell (src/server/node-logger.ts) calls flushExpired on its own timer.
 */
import type { Logger } from './telemetry.js';

/** How often one warning may be logged when the caller says nothing (10 s). */
export const DEFAULT_WARNING_INTERVAL_MS = 10_000;

/** Default bound on the warnings tracked at once; past it a new one passes unfolded. */
export const FOLD_KEYS_MAX = 1_024;

/**
 * Fields that tell two warnings with one message apart: a warning about the etcd store
 * is not the same warning as one about the Kafka store, nor a snapshot refused at one
 * seq the same as one refused at another. An epoch is one too: a writer stops, and a
 * node is fenced, once per epoch, so those warnings (state changes) never fold. Every
 * other field (`cause`, seqs, counts) is detail, which may differ between two warnings
 * that fold together.
 */
export const FOLD_IDENTITY_FIELDS = [
  'kind',
  'store',
  'loop',
  'outcome',
  'reason',
  'peer',
  'path',
  'listener',
  'lastSeq',
  'epoch',
  'byEpoch',
] as const;

/** What a line says about the warnings folded since the previous line of its kind. */
export interface FoldedSummary {
  /** How many warnings of this kind were not logged on a line of their own. */
  readonly folded: number;
  /** The lowest seq they named (`seq`, `fromSeq`), as a decimal string. */
  readonly foldedFromSeq?: string;
  /** The highest seq they named (`seq`, `toSeq`), as a decimal string. */
  readonly foldedToSeq?: string;
}

interface Fold {
  /** When this kind's last line went out; another may go out intervalMs after it. */
  lineAtMs: number;
  folded: number;
  fromSeq: bigint | undefined;
  toSeq: bigint | undefined;
  /** The newest folded warning: what a flushed summary line repeats. */
  last: { readonly fields: object; readonly message: string } | undefined;
}

export interface FoldingOptions {
  /** One warning is logged at most once per this many ms; 0 logs every one. */
  readonly intervalMs: number;
  /** The clock (ms); injected, so tests step it instead of sleeping. */
  readonly nowMs: () => number;
  /** Warnings tracked at once (default {@link FOLD_KEYS_MAX}). */
  readonly keysMax?: number;
}

/**
 * The key two warnings fold on: the warning's `kind` when the caller names one (its
 * message may then carry variable text), else its message; plus the identity fields.
 */
export function foldKey(fields: object, message: string): string {
  const record = fields as Record<string, unknown>;
  const kind = record['kind'];
  const parts = [typeof kind === 'string' ? `kind=${kind}` : `msg=${message}`];
  for (const name of FOLD_IDENTITY_FIELDS) {
    if (name === 'kind') continue;
    const value = record[name];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint')
      parts.push(`${name}=${String(value)}`);
  }
  return parts.join('\u0000');
}

/** A Logger that folds repeated warnings (module doc) and passes everything else on. */
export class FoldingLogger implements Logger {
  private readonly folds = new Map<string, Fold>();
  private readonly keysMax: number;

  constructor(
    private readonly inner: Logger,
    private readonly options: FoldingOptions,
  ) {
    if (!Number.isSafeInteger(options.intervalMs) || options.intervalMs < 0)
      throw new RangeError(`intervalMs must be a non-negative integer, got ${options.intervalMs}`);
    this.keysMax = options.keysMax ?? FOLD_KEYS_MAX;
  }

  debug(fields: object, message: string): void {
    this.inner.debug(fields, message);
  }

  info(fields: object, message: string): void {
    this.inner.info(fields, message);
  }

  error(fields: object, message: string): void {
    this.inner.error(fields, message);
  }

  warn(fields: object, message: string): void {
    if (this.options.intervalMs === 0) return this.inner.warn(fields, message);
    const key = foldKey(fields, message);
    const nowMs = this.options.nowMs();
    const fold = this.folds.get(key);
    if (fold === undefined) {
      if (this.folds.size >= this.keysMax) this.forgetQuiet(nowMs);
      // Still full: this warning is not tracked, so it is logged (never lost).
      if (this.folds.size < this.keysMax) this.folds.set(key, newFold(nowMs));
      return this.inner.warn(fields, message);
    }
    if (nowMs - fold.lineAtMs >= this.options.intervalMs) {
      const summary = summarize(fold);
      Object.assign(fold, newFold(nowMs));
      return this.inner.warn(summary === undefined ? fields : { ...fields, ...summary }, message);
    }
    fold.folded++;
    fold.last = { fields, message };
    for (const seq of seqsOf(fields)) {
      if (fold.fromSeq === undefined || seq < fold.fromSeq) fold.fromSeq = seq;
      if (fold.toSeq === undefined || seq > fold.toSeq) fold.toSeq = seq;
    }
  }

  /**
   * Logs a summary line for every warning whose interval is over with folds no later
   * warning reported (it repeats the newest folded one, with the count), and forgets
   * warnings that have been quiet for a whole interval. Call it about once an interval.
   */
  flushExpired(): void {
    const nowMs = this.options.nowMs();
    for (const [key, fold] of this.folds) {
      if (nowMs - fold.lineAtMs < this.options.intervalMs) continue;
      if (fold.folded === 0) {
        this.folds.delete(key);
        continue;
      }
      this.emitSummary(fold);
      Object.assign(fold, newFold(nowMs));
    }
  }

  /** Logs what is still folded, whatever the time (on stop), and forgets every warning. */
  flush(): void {
    for (const fold of this.folds.values()) if (fold.folded > 0) this.emitSummary(fold);
    this.folds.clear();
  }

  /** How many warnings are tracked (bounded by keysMax). */
  get trackedCount(): number {
    return this.folds.size;
  }

  private emitSummary(fold: Fold): void {
    const last = fold.last!;
    this.inner.warn({ ...last.fields, ...summarize(fold) }, last.message);
  }

  /** Drops tracked warnings with nothing folded whose interval is over. */
  private forgetQuiet(nowMs: number): void {
    for (const [key, fold] of this.folds)
      if (fold.folded === 0 && nowMs - fold.lineAtMs >= this.options.intervalMs) this.folds.delete(key);
  }
}

function newFold(nowMs: number): Fold {
  return { lineAtMs: nowMs, folded: 0, fromSeq: undefined, toSeq: undefined, last: undefined };
}

function summarize(fold: Fold): FoldedSummary | undefined {
  if (fold.folded === 0) return undefined;
  return {
    folded: fold.folded,
    ...(fold.fromSeq === undefined ? {} : { foldedFromSeq: fold.fromSeq.toString() }),
    ...(fold.toSeq === undefined ? {} : { foldedToSeq: fold.toSeq.toString() }),
  };
}

/** The seqs a warning names in `seq`, `fromSeq` and `toSeq` (bigint, integer or decimal text). */
function seqsOf(fields: object): bigint[] {
  const record = fields as Record<string, unknown>;
  const seqs: bigint[] = [];
  for (const name of ['seq', 'fromSeq', 'toSeq']) {
    const value = record[name];
    if (typeof value === 'bigint') seqs.push(value);
    else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) seqs.push(BigInt(value));
    else if (typeof value === 'string' && /^\d{1,20}$/.test(value)) seqs.push(BigInt(value));
  }
  return seqs;
}
