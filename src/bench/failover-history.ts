/**
 * Whether a failover kept its promise (DESIGN.md invariant 1, and "How a history is
 * judged"): every append the bench's clients made is recorded with its outcome — `ok`
 * at a seq, `failed` (the client knows nothing was written: refused before sending, or
 * a node's "not primary" / "failed" answer), `unknown` (the connection was lost at the
 * kill) — and the final log of each store is read back and judged against them. Each
 * append has a key of its own, so a key found in the log names the append.
 *
 * Pure: the history and the log's entries in, the counts out.
 */
import type { FailoverCheck } from './results.js';

export type AppendOutcome =
  | { readonly kind: 'ok'; readonly seq: bigint; readonly epoch: bigint }
  | { readonly kind: 'failed' }
  | { readonly kind: 'unknown' };

export interface AppendRecord {
  readonly key: string;
  readonly outcome: AppendOutcome;
}

/** What the check needs of one entry of the log. */
export interface LoggedEntry {
  readonly seq: bigint;
  readonly type: string;
  readonly key: string;
}

/** Entry types the service writes on its own (checkpoints), not the clients. */
const SERVICE_TYPES = new Set(['checkpoint']);

/**
 * Judges `entries` (one store's whole log, in the order read) against `history`.
 * Keys of the history must be unique (the bench makes them so); a repeated one throws.
 */
export function checkLog(
  store: string,
  history: readonly AppendRecord[],
  entries: readonly LoggedEntry[],
): FailoverCheck {
  const byKey = new Map<string, AppendRecord>();
  for (const record of history) {
    if (byKey.has(record.key)) throw new Error(`failover check: key ${record.key} appended twice`);
    byKey.set(record.key, record);
  }
  const seqsOf = new Map<string, bigint[]>();
  let seqErrors = 0;
  let unexpected = 0;
  entries.forEach((entry, index) => {
    if (entry.seq !== BigInt(index + 1)) seqErrors++;
    if (SERVICE_TYPES.has(entry.type)) return;
    if (!byKey.has(entry.key)) unexpected++;
    else seqsOf.set(entry.key, [...(seqsOf.get(entry.key) ?? []), entry.seq]);
  });
  let lost = 0;
  let misplaced = 0;
  let duplicated = 0;
  let failedPresent = 0;
  let unknownPresent = 0;
  for (const { key, outcome } of history) {
    const seqs = seqsOf.get(key) ?? [];
    if (seqs.length > 1) duplicated++;
    if (outcome.kind === 'ok') {
      if (seqs.length === 0) lost++;
      else if (!seqs.includes(outcome.seq)) misplaced++;
    } else if (outcome.kind === 'failed') {
      if (seqs.length > 0) failedPresent++;
    } else if (seqs.length > 0) unknownPresent++;
  }
  return {
    store,
    entries: entries.length,
    lost,
    misplaced,
    duplicated,
    failedPresent,
    unexpected,
    seqErrors,
    unknownPresent,
  };
}

/** The anomalies of a check: everything but the unknown appends found once. */
export function anomaliesOf(check: FailoverCheck): number {
  return (
    check.lost + check.misplaced + check.duplicated + check.failedPresent + check.unexpected + check.seqErrors
  );
}
