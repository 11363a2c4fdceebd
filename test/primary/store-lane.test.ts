/**
 * The primary's per-store lane: several records in flight to one store, each resolved
 * only once it and everything before it is held; a transient failure (the record not
 * stored, or stored with the reply lost) and the not-contiguous refusals it causes for
 * the records behind it are retried in order with the same bytes; a final refusal
 * rejects.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, StoreUnavailableError } from '../../src/core/errors.js';
import type { BatchRecord } from '../../src/core/record-codec.js';
import { epoch, seq, type Epoch } from '../../src/core/types.js';
import { StoreLane } from '../../src/primary/store-lane.js';
import type { LogStore } from '../../src/stores/log-store.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { collect } from '../contract/log-store.contract.js';
import { makeRecord } from '../helpers/entries.js';

/** A memory store whose first append of chosen seqs fails: before storing, or after (reply lost). */
class ScriptedStore extends MemoryLogStore {
  readonly failFirst = new Map<bigint, 'before' | 'after'>();
  readonly calls: bigint[] = [];
  override async append(record: BatchRecord, e: Epoch): Promise<void> {
    this.calls.push(record.firstSeq);
    const mode = this.failFirst.get(record.firstSeq);
    this.failFirst.delete(record.firstSeq);
    if (mode === 'before') throw new StoreUnavailableError('scripted append', {});
    await super.append(record, e);
    if (mode === 'after') throw new StoreUnavailableError('scripted append', {});
  }
}

const records = Array.from({ length: 12 }, (_, i) => makeRecord(BigInt(i * 4 + 1), 4));
const retry = (_store: LogStore, append: () => Promise<void>) => append();

async function lane(store: ScriptedStore) {
  await store.fence(epoch(1n));
  return new StoreLane(store, retry);
}

describe('store lane', () => {
  it('keeps records in flight and resolves them in order', async () => {
    const store = new ScriptedStore();
    const l = await lane(store);
    const order: number[] = [];
    await Promise.all(records.map((r, i) => l.submit(r, epoch(1n)).then(() => order.push(i))));
    expect(order).toEqual(records.map((_, i) => i));
    expect((await collect(store.read(seq(1n)))).map((r) => r.firstSeq)).toEqual(
      records.map((r) => r.firstSeq),
    );
  });

  for (const mode of ['before', 'after'] as const) {
    it(`retries a transient failure (${mode} storing) and the records refused behind it, in order`, async () => {
      const store = new ScriptedStore();
      store.failFirst.set(records[3]!.firstSeq, mode);
      const l = await lane(store);
      const order: number[] = [];
      await Promise.all(records.map((r, i) => l.submit(r, epoch(1n)).then(() => order.push(i))));
      expect(order).toEqual(records.map((_, i) => i));
      const stored = await collect(store.read(seq(1n)));
      expect(stored.map((r) => r.firstSeq)).toEqual(records.map((r) => r.firstSeq));
      // The failed record was tried again; nothing was issued out of order.
      expect(store.calls.filter((s) => s === records[3]!.firstSeq)).toHaveLength(2);
      // Caught up: the next record goes out at once again, and lands.
      await l.submit(makeRecord(49n, 4), epoch(1n));
      expect((await store.head()).lastSeq).toBe(52n);
    });
  }

  it('a final refusal rejects that record and the ones behind it', async () => {
    const store = new ScriptedStore();
    const l = await lane(store);
    await l.submit(records[0]!, epoch(1n));
    const other = makeRecord(5n, 2); // a different record at seq 5 is stored first
    await store.append(other, epoch(1n));
    const results = await Promise.allSettled(records.slice(1, 4).map((r) => l.submit(r, epoch(1n))));
    expect(results[0]).toMatchObject({ status: 'rejected', reason: expect.any(ConflictError) });
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    await l.settled();
  });
});
