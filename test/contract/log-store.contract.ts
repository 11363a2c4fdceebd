/**
 * The LogStore contract as one body of tests (DESIGN.md "LogStore contract"), run
 * against every adapter: memory and file here, etcd and Kafka against real servers.
 * Each clause of the port's doc comments has a test that would fail without it.
 */
import { describe, expect, it, afterEach } from 'vitest';
import {
  ChecksumMismatchError,
  ClosedError,
  ConflictError,
  FencedError,
  InvalidInputError,
  MalformedError,
  NotContiguousError,
  StoreUnavailableError,
  TooLargeError,
  TruncatedError,
} from '../../src/core/errors.js';
import { encodeRecord, type BatchRecord, type VerifiedRecord } from '../../src/core/record-codec.js';
import { epoch, seq } from '../../src/core/types.js';
import type { LogStore, Subscription, SubscriptionEvent } from '../../src/stores/log-store.js';
import { fields, makeRecord, oversizedRecord, randomBytes, testCompression } from '../helpers/entries.js';

export interface StoreHarness {
  /** A fresh, empty store with its own cluster id. */
  create(): Promise<LogStore>;
  /** Closes `store` and opens the same log again; absent for stores that are not durable. */
  reopen?(store: LogStore): Promise<LogStore>;
}

export async function collect(iterable: AsyncIterable<VerifiedRecord>): Promise<BatchRecord[]> {
  const out: BatchRecord[] = [];
  for await (const record of iterable) out.push(record);
  return out;
}

/** Appends `records` records of `entries` entries each from seq 1 (or `from`). */
export async function appendRun(
  store: LogStore,
  {
    records,
    entries = 3,
    from = 1n,
    epochValue = 1n,
  }: { records: number; entries?: number; from?: bigint; epochValue?: bigint },
): Promise<BatchRecord[]> {
  const out: BatchRecord[] = [];
  let next = from;
  for (let i = 0; i < records; i++) {
    const record = makeRecord(next, entries, epochValue);
    await store.append(record, epoch(epochValue));
    out.push(record);
    next = record.lastSeq + 1n;
  }
  return out;
}

/** Reads events until `count` records arrived; returns them and the visibility events seen. */
export async function take(
  subscription: Subscription,
  count: number,
): Promise<{ records: BatchRecord[]; visibility: SubscriptionEvent[] }> {
  const records: BatchRecord[] = [];
  const visibility: SubscriptionEvent[] = [];
  if (count === 0) return { records, visibility };
  // Not `for await`: breaking out of it would end the subscription.
  const iterator = subscription[Symbol.asyncIterator]();
  while (records.length < count) {
    const next = await iterator.next();
    if (next.done === true) break;
    if (next.value.type === 'record') records.push(next.value.record);
    else visibility.push(next.value);
  }
  return { records, visibility };
}

const firstSeqs = (records: readonly BatchRecord[]) => records.map((r) => r.firstSeq);

export function runLogStoreContract(name: string, harness: StoreHarness): void {
  describe(`LogStore contract: ${name}`, () => {
    const open: LogStore[] = [];
    async function fresh(fenceTo = 1n): Promise<LogStore> {
      const store = await harness.create();
      open.push(store);
      if (fenceTo > 0n) await store.fence(epoch(fenceTo));
      return store;
    }
    afterEach(async () => {
      for (const store of open.splice(0)) await store.close().catch(() => undefined);
    });

    it('starts empty: head {0, 0}, epoch 0, nothing to read', async () => {
      const store = await fresh(0n);
      expect(await store.head()).toEqual({ lastSeq: 0n, epoch: 0n });
      expect(await store.currentEpoch()).toBe(0n);
      expect(await collect(store.read(seq(1n)))).toEqual([]);
    });

    it('appends contiguous records and reads them back byte for byte', async () => {
      const store = await fresh();
      const written = await appendRun(store, { records: 5 });
      expect(await store.head()).toEqual({ lastSeq: 15n, epoch: 1n });
      const read = await collect(store.read(seq(1n)));
      expect(read.map((r) => Buffer.from(r.bytes).toString('hex'))).toEqual(
        written.map((r) => Buffer.from(r.bytes).toString('hex')),
      );
    });

    it('reads from the record covering fromSeq, and honours limitRecords', async () => {
      const store = await fresh();
      await appendRun(store, { records: 5 });
      expect(firstSeqs(await collect(store.read(seq(8n))))).toEqual([7n, 10n, 13n]);
      expect(firstSeqs(await collect(store.read(seq(7n), 2)))).toEqual([7n, 10n]);
      expect(await collect(store.read(seq(16n)))).toEqual([]);
    });

    it('reads across many records to the end, never stopping at one page', async () => {
      const store = await fresh();
      await appendRun(store, { records: 300, entries: 1 });
      const read = await collect(store.read(seq(1n)));
      expect(read.length).toBe(300);
      expect(read.every((r, i) => r.firstSeq === BigInt(i + 1))).toBe(true);
    });

    it('accepts a byte-identical retry at the same seq, even after a fence', async () => {
      const store = await fresh();
      const written = await appendRun(store, { records: 3 });
      await store.append(written[2]!, epoch(1n));
      await store.append(written[0]!, epoch(1n));
      await store.fence(epoch(2n));
      await store.append(written[1]!, epoch(1n));
      expect(await store.head()).toEqual({ lastSeq: 9n, epoch: 1n });
      expect((await collect(store.read(seq(1n)))).length).toBe(3);
    });

    it('refuses different bytes at a stored seq with ConflictError', async () => {
      const store = await fresh();
      await appendRun(store, { records: 2 });
      const other = encodeRecord({
        epoch: epoch(1n),
        entries: [fields(4n, 1n, 'other-key'), fields(5n), fields(6n)],
        compression: testCompression(),
      }).record;
      await expect(store.append(other, epoch(1n))).rejects.toBeInstanceOf(ConflictError);
      // A record starting inside a stored one conflicts too.
      await expect(store.append(makeRecord(5n, 2), epoch(1n))).rejects.toBeInstanceOf(ConflictError);
      expect(await store.head()).toEqual({ lastSeq: 6n, epoch: 1n });
    });

    it('refuses a record that does not start at head + 1', async () => {
      const store = await fresh();
      await appendRun(store, { records: 1 });
      await expect(store.append(makeRecord(5n, 1), epoch(1n))).rejects.toBeInstanceOf(NotContiguousError);
      await expect(store.append(makeRecord(5n, 1), epoch(1n))).rejects.toMatchObject({ expectedSeq: 4n });
      expect(await store.head()).toEqual({ lastSeq: 3n, epoch: 1n });
    });

    it('fences: an older epoch can no longer append; fence never goes back', async () => {
      const store = await fresh();
      await appendRun(store, { records: 1 });
      await store.fence(epoch(2n));
      expect(await store.currentEpoch()).toBe(2n);
      await expect(store.append(makeRecord(4n, 1), epoch(1n))).rejects.toBeInstanceOf(FencedError);
      await expect(store.fence(epoch(2n))).rejects.toBeInstanceOf(FencedError);
      await expect(store.fence(epoch(1n))).rejects.toBeInstanceOf(FencedError);
      // A record of the old epoch may be copied under the new token (reconciliation).
      await store.append(makeRecord(4n, 1, 1n), epoch(2n));
      await store.append(makeRecord(5n, 1, 2n), epoch(2n));
      expect(await store.head()).toEqual({ lastSeq: 5n, epoch: 2n });
      // An epoch the store was never fenced to is not current either.
      await expect(store.append(makeRecord(6n, 1, 3n), epoch(3n))).rejects.toBeInstanceOf(FencedError);
    });

    it('concurrent appenders with different epochs: only the current one lands', async () => {
      const store = await fresh();
      await appendRun(store, { records: 1 });
      const stale = Array.from({ length: 5 }, (_, i) =>
        store.append(makeRecord(4n + BigInt(i), 1, 1n), epoch(1n)),
      );
      const fencing = store.fence(epoch(2n));
      const results = await Promise.allSettled([...stale, fencing]);
      await appendRun(store, {
        records: 5,
        entries: 1,
        from: (await store.head()).lastSeq + 1n,
        epochValue: 2n,
      });
      const all = await collect(store.read(seq(1n)));
      // Whatever of the stale writer landed did so before the fence, and nothing after.
      const firstEpoch2 = all.findIndex((r) => r.epoch === 2n);
      expect(all.slice(firstEpoch2).every((r) => r.epoch === 2n)).toBe(true);
      const staleLanded = all.filter((r) => r.epoch === 1n).length - 1;
      expect(results.slice(0, 5).filter((r) => r.status === 'fulfilled').length).toBe(staleLanded);
      expect(results[5]!.status).toBe('fulfilled');
    });

    it('refuses damaged, oversized or over-epoch records and writes nothing', async () => {
      const store = await fresh();
      await appendRun(store, { records: 1 });
      const good = makeRecord(4n, 2);
      const flipped = good.bytes.slice();
      flipped[flipped.length - 3]! ^= 0x10;
      await expect(store.append({ ...good, bytes: flipped }, epoch(1n))).rejects.toBeInstanceOf(
        ChecksumMismatchError,
      );
      await expect(store.append(oversizedRecord(4n), epoch(1n))).rejects.toBeInstanceOf(TooLargeError);
      const garbage = { ...good, bytes: randomBytes(4096) };
      await expect(store.append(garbage, epoch(1n))).rejects.toBeInstanceOf(MalformedError);
      await expect(store.append(makeRecord(4n, 1, 5n), epoch(1n))).rejects.toBeInstanceOf(InvalidInputError);
      expect(await store.head()).toEqual({ lastSeq: 3n, epoch: 1n });
      await store.append(good, epoch(1n));
      expect(await store.head()).toEqual({ lastSeq: 5n, epoch: 1n });
    });

    it('pipelined appends (not awaited one by one) land in call order', async () => {
      const store = await fresh();
      const records = [1n, 3n, 5n, 7n, 9n].map((s) => makeRecord(s, 2));
      await Promise.all(records.map((r) => store.append(r, epoch(1n))));
      expect(firstSeqs(await collect(store.read(seq(1n))))).toEqual([1n, 3n, 5n, 7n, 9n]);
    });

    it('subscribe then append: visible first, then every record once, in order', async () => {
      const store = await fresh();
      const subscription = store.subscribe(seq(1n));
      const reading = take(subscription, 6);
      await appendRun(store, { records: 6, entries: 2 });
      const { records, visibility } = await reading;
      subscription.close();
      expect(firstSeqs(records)).toEqual([1n, 3n, 5n, 7n, 9n, 11n]);
      expect(visibility[0]).toMatchObject({ type: 'visibility', visibility: 'visible' });
    });

    it('subscribe from a seq delivers the stored tail, then new records', async () => {
      const store = await fresh();
      await appendRun(store, { records: 4 });
      const subscription = store.subscribe(seq(8n));
      const first = await take(subscription, 2);
      expect(firstSeqs(first.records)).toEqual([7n, 10n]);
      await appendRun(store, { records: 2, from: 13n });
      const next = await take(subscription, 2);
      subscription.close();
      expect(firstSeqs(next.records)).toEqual([13n, 16n]);
    });

    it('close() ends a subscription that is waiting', async () => {
      const store = await fresh();
      const subscription = store.subscribe(seq(1n));
      const iterator = subscription[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toMatchObject({ visibility: 'visible' });
      const pending = iterator.next();
      subscription.close();
      expect((await pending).done).toBe(true);
    });

    it('retention: truncateBefore removes whole records below a seq, never the head', async () => {
      const store = await fresh();
      await appendRun(store, { records: 5 });
      await store.truncateBefore(seq(10n));
      const rest = await collect(store.read(seq(10n)));
      expect(firstSeqs(rest)).toEqual([10n, 13n]);
      await expect(collect(store.read(seq(1n)))).rejects.toBeInstanceOf(TruncatedError);
      await store.truncateBefore(seq(100n));
      expect(firstSeqs(await collect(store.read(seq(13n))))).toEqual([13n]);
      expect(await store.head()).toEqual({ lastSeq: 15n, epoch: 1n });
      await appendRun(store, { records: 1, from: 16n });
      expect(await store.head()).toEqual({ lastSeq: 18n, epoch: 1n });
    });

    it('rejects every call after close() with ClosedError', async () => {
      const store = await fresh();
      await store.close();
      await expect(store.head()).rejects.toBeInstanceOf(ClosedError);
      await expect(store.append(makeRecord(1n, 1), epoch(1n))).rejects.toBeInstanceOf(ClosedError);
    });

    if (harness.reopen !== undefined) {
      const reopen = harness.reopen;
      it('persists records, head and epoch across close and reopen', async () => {
        const store = await fresh();
        const written = await appendRun(store, { records: 4 });
        await store.fence(epoch(3n));
        const again = await reopen(store);
        open.push(again);
        expect(await again.head()).toEqual({ lastSeq: 12n, epoch: 1n });
        expect(await again.currentEpoch()).toBe(3n);
        const read = await collect(again.read(seq(1n)));
        expect(read.map((r) => r.bodyChecksum)).toEqual(written.map((r) => r.bodyChecksum));
        await again.append(makeRecord(13n, 1, 3n), epoch(3n));
        expect(await again.head()).toEqual({ lastSeq: 13n, epoch: 3n });
      });
    }
  });
}

/**
 * Appends `record`, retrying the same bytes while the store is unavailable (what the
 * writer does); returns how many retries it took. Bounded by `attemptsMax`.
 */
export async function appendRetrying(
  target: LogStore,
  record: BatchRecord,
  epochValue: bigint,
  { delayMs = 100, attemptsMax = 300 }: { delayMs?: number; attemptsMax?: number } = {},
): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      await target.append(record, epoch(epochValue));
      return attempt;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || attempt >= attemptsMax) throw error;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/**
 * A harness for stores opened by cluster id (file, etcd, Kafka): every test gets a
 * fresh id; reopen closes a store and opens the same id again.
 */
export function harnessByClusterId(open: (clusterId: string) => LogStore | Promise<LogStore>): StoreHarness {
  const run = `${process.pid}-${Date.now()}`;
  let counter = 0;
  const clusterOf = new WeakMap<LogStore, string>();
  const openTracked = async (clusterId: string) => {
    const store = await open(clusterId);
    clusterOf.set(store, clusterId);
    return store;
  };
  return {
    create: () => openTracked(`c${run}-${++counter}`),
    reopen: async (store) => {
      await store.close();
      return openTracked(clusterOf.get(store)!);
    },
  };
}
