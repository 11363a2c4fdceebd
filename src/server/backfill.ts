/**
 * The log read behind a watch older than the feed's ring (watch.ts `backfill`): applied
 * entries `fromSeq…toSeq`, in order, from the source store. Where the source's copy is
 * damaged — a record that fails verification or decoding, or records missing from the
 * middle of its log, which the etcd and Kafka stores report as CorruptStoreError — the
 * read goes on from the other (fetch) store at that seq, for as long as that store
 * serves, and back to the source where the fetch store is damaged or ends: one read of
 * each store per damaged stretch, not one per record (a 500-record hole used to cost
 * 500 round trips to each store, about 0.2 s each under load: a watch from before it
 * took minutes). A seq neither store can serve ends the backfill with the source's
 * error (DESIGN.md invariant 8: a damaged record is never served, and is repaired from
 * the other store when it has a good copy).
 */
import { ChecksumMismatchError, CorruptStoreError, MalformedError } from '../core/errors.js';
import type { Compression } from '../core/compression.js';
import { decodeVerifiedRecord } from '../core/record-codec.js';
import { seq as asSeq, type Entry } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';

export interface BackfillStores {
  readonly source: LogStore;
  /** Where damaged seqs are read from; the source itself when the node has one store. */
  readonly fetch: LogStore;
}

export async function* backfillEntries(
  stores: BackfillStores,
  compression: Compression,
  { fromSeq, toSeq }: { fromSeq: bigint; toSeq: bigint },
): AsyncGenerator<Entry> {
  let next = fromSeq;
  let store = stores.source;
  /** The seq the last switch of store happened at, and the source's error there. */
  let switchedAt: bigint | undefined;
  let sourceError: unknown;
  while (next <= toSeq) {
    try {
      for await (const record of store.read(asSeq(next))) {
        const entries = decodeVerifiedRecord(record, compression);
        for (const entry of entries) if (entry.seq >= next && entry.seq <= toSeq) yield entry;
        next = record.lastSeq + 1n;
        if (next > toSeq) return;
      }
      // The source ended below toSeq: as before, the watch sees the log ended short.
      if (store === stores.source) return;
    } catch (error) {
      if (!isDamage(error) || stores.fetch === stores.source) throw error;
      if (store === stores.source) sourceError = error;
    }
    // Neither store could serve `next` (damaged in both, or the fetch store ends there): no good copy.
    if (switchedAt === next) throw sourceError;
    switchedAt = next;
    store = store === stores.source ? stores.fetch : stores.source;
  }
}

/** A stored record that fails verification or decoding: its bytes, not the store, are bad. */
export function isDamage(error: unknown): boolean {
  return (
    error instanceof CorruptStoreError ||
    error instanceof ChecksumMismatchError ||
    error instanceof MalformedError
  );
}
