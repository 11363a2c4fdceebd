/**
 * Reconciliation at start with a damaged copy (found by the fault suite, chaos/: a
 * flipped byte in the etcd copy of the last record left every promotion failing after
 * the fence, a cluster with no writer for as long as the damage stayed): a copy that
 * fails verification in one store is damage, not a fork, so the writer starts when
 * the other store holds a good copy — whichever store is damaged, with equal heads or
 * a shorter one to fill — and still refuses when no store holds a readable copy, or
 * when the copies differ.
 */
import { describe, expect, it } from 'vitest';
import { CorruptStoreError, IntegrityError } from '../../src/core/errors.js';
import { epoch, seq, type Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { collect } from '../contract/log-store.contract.js';
import { makeRecord, testCompression } from '../helpers/entries.js';
import { FlakyStore } from '../helpers/flaky-store.js';

const compression = testCompression();
const op: Op = { type: 'put', key: 'k', value: new TextEncoder().encode('after') };

/** Two stores holding records at 1, 4, 7 (3 entries each), the first `short` missing the last. */
async function stores({ short = false } = {}) {
  const a = new MemoryLogStore();
  const b = new MemoryLogStore();
  for (const store of [a, b]) await store.fence(epoch(1n));
  for (const s of [1n, 4n, 7n]) {
    if (!(short && s === 7n)) await a.append(makeRecord(s, 3), epoch(1n));
    await b.append(makeRecord(s, 3), epoch(1n));
  }
  return { a, b, flakyA: new FlakyStore(a), flakyB: new FlakyStore(b) };
}

describe('reconcile with a damaged copy', () => {
  it('equal heads, the first store damaged at the head: starts at head + 1', async () => {
    const { a, b, flakyA } = await stores();
    flakyA.corrupt.add(7n);
    const primary = await PrimaryWriter.start({ stores: [flakyA, b], compression });
    expect(primary.epoch).toBe(2n);
    expect(await primary.append(op)).toBe(10n);
    expect((await a.head()).lastSeq).toBe(10n);
    expect((await b.head()).lastSeq).toBe(10n);
    await primary.close();
  });

  it('equal heads, the second store damaged at the head: starts too', async () => {
    const { a, flakyB } = await stores();
    flakyB.corrupt.add(7n);
    const primary = await PrimaryWriter.start({ stores: [a, flakyB], compression });
    expect(await primary.append(op)).toBe(10n);
    await primary.close();
  });

  it("a shorter store damaged at its head is filled from the longer one's good copies", async () => {
    const { a, b, flakyA } = await stores({ short: true });
    flakyA.corrupt.add(4n);
    const primary = await PrimaryWriter.start({ stores: [flakyA, b], compression });
    expect(await primary.append(op)).toBe(10n);
    const firstSeqs = (await collect(b.read(seq(1n)))).map((r) => r.firstSeq);
    expect((await collect(a.read(seq(1n)))).map((r) => r.firstSeq)).toEqual(firstSeqs);
    await primary.close();
  });

  it('refuses when no store holds a readable copy at the head, and writes nothing', async () => {
    const { a, b, flakyA, flakyB } = await stores();
    flakyA.corrupt.add(7n);
    flakyB.corrupt.add(7n);
    await expect(PrimaryWriter.start({ stores: [flakyA, flakyB], compression })).rejects.toBeInstanceOf(
      CorruptStoreError,
    );
    expect((await a.head()).lastSeq).toBe(9n);
    expect((await b.head()).lastSeq).toBe(9n);
  });

  it('still refuses readable copies that differ (a fork), whatever damage lies elsewhere', async () => {
    const a = new MemoryLogStore();
    const b = new MemoryLogStore();
    for (const store of [a, b]) await store.fence(epoch(1n));
    for (const [store, records] of [
      [a, [makeRecord(1n, 3), makeRecord(4n, 3)]],
      [b, [makeRecord(1n, 3), makeRecord(4n, 2), makeRecord(6n, 2)]],
    ] as const)
      for (const record of records) await store.append(record, epoch(1n));
    const flakyB = new FlakyStore(b);
    flakyB.corrupt.add(1n);
    await expect(PrimaryWriter.start({ stores: [a, flakyB], compression })).rejects.toBeInstanceOf(
      IntegrityError,
    );
    expect((await a.head()).lastSeq).toBe(6n);
  });
});
