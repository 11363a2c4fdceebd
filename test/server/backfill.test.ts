/**
 * The log read behind a watch from before the feed's ring (src/server/backfill.ts):
 * damage in the source is read from the other store, and a damaged stretch of many
 * records costs one read of each store, not one per record (found by the fault suite's
 * long-gap fault: a 500-record hole in etcd made the final watch of the etcd-following
 * node crawl through it a record at a time, ~0.2 s each, until its 120 s deadline).
 * Neither store serving a seq ends the backfill with the source's error.
 */
import { describe, expect, it } from 'vitest';
import { CorruptStoreError } from '../../src/core/errors.js';
import { epoch } from '../../src/core/types.js';
import { backfillEntries } from '../../src/server/backfill.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { makeRecord, testCompression } from '../helpers/entries.js';
import { FlakyStore } from '../helpers/flaky-store.js';

const compression = testCompression();

/** Two stores holding the same `records` one-entry records from seq 1. */
async function twoStores(records: number): Promise<{ source: FlakyStore; fetch: FlakyStore }> {
  const stores = {
    source: new FlakyStore(new MemoryLogStore()),
    fetch: new FlakyStore(new MemoryLogStore()),
  };
  for (const store of [stores.source, stores.fetch]) {
    await store.fence(epoch(1n));
    for (let s = 1n; s <= BigInt(records); s++)
      await store.append(makeRecord(s, 1, 1n, compression), epoch(1n));
  }
  return stores;
}

async function seqsOf(entries: AsyncIterable<{ seq: bigint }>): Promise<bigint[]> {
  const out: bigint[] = [];
  for await (const entry of entries) out.push(entry.seq);
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));

describe('watch backfill', () => {
  it('a run of 500 damaged source records is read from the other store in one read, then the source again', async () => {
    const stores = await twoStores(600);
    for (let s = 51n; s <= 550n; s++) stores.source.corrupt.add(s);
    const seqs = await seqsOf(backfillEntries(stores, compression, { fromSeq: 1n, toSeq: 600n }));
    expect(seqs).toEqual(range(1, 600));
    // Source from 1 (fails at 51), the fetch store from 51 to the end: no going back needed.
    expect({ source: stores.source.reads, fetch: stores.fetch.reads }).toEqual({ source: 1, fetch: 1 });
  });

  it('damage in the fetch store past the source hole sends it back to the source there', async () => {
    const stores = await twoStores(300);
    for (let s = 51n; s <= 100n; s++) stores.source.corrupt.add(s);
    stores.fetch.corrupt.add(200n);
    const seqs = await seqsOf(backfillEntries(stores, compression, { fromSeq: 10n, toSeq: 300n }));
    expect(seqs).toEqual(range(10, 300));
    expect({ source: stores.source.reads, fetch: stores.fetch.reads }).toEqual({ source: 2, fetch: 1 });
  });

  it('a seq damaged in both stores ends it with the source error, after what came before', async () => {
    const stores = await twoStores(100);
    stores.source.corrupt.add(40n);
    stores.fetch.corrupt.add(40n);
    const seqs: bigint[] = [];
    const reading = (async () => {
      for await (const entry of backfillEntries(stores, compression, { fromSeq: 1n, toSeq: 100n }))
        seqs.push(entry.seq);
    })();
    await expect(reading).rejects.toThrow(CorruptStoreError);
    await expect(reading).rejects.toThrow(/flaky memory record 40/);
    expect(seqs).toEqual(range(1, 39));
  });

  it('one store: damage in it is the error, nothing read twice', async () => {
    const stores = await twoStores(20);
    stores.source.corrupt.add(5n);
    const only = { source: stores.source, fetch: stores.source };
    await expect(seqsOf(backfillEntries(only, compression, { fromSeq: 1n, toSeq: 20n }))).rejects.toThrow(
      CorruptStoreError,
    );
    expect(stores.source.reads).toBe(1);
  });
});
