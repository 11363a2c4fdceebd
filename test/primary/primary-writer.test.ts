/**
 * The primary writer on real adapters (memory and file): acks only what every store
 * holds, in seq order; stores end byte-identical; start reconciles a shorter store
 * from the longer one and refuses forked stores with IntegrityError; a fence by a newer
 * writer stops it for good and fails what is pending; bad input is refused with nothing
 * written. And a standby following the file log applies exactly what was acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FencedError, IntegrityError, InvalidInputError, TooLargeError } from '../../src/core/errors.js';
import { decodeRecord } from '../../src/core/record-codec.js';
import { epoch, seq, type Entry, type Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { Standby } from '../../src/standby/standby.js';
import { FileLogStore } from '../../src/stores/file/file-store.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { collect } from '../contract/log-store.contract.js';
import { makeRecord, testCompression } from '../helpers/entries.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { until } from '../helpers/waiting.js';

const compression = testCompression();
const op = (i: number): Op => ({ type: 'put', key: `k${i % 50}`, value: new TextEncoder().encode(`v${i}`) });
const hexes = async (store: MemoryLogStore | FileLogStore) =>
  (await collect(store.read(seq(1n)))).map((r) => Buffer.from(r.bytes).toString('hex'));

describe('primary writer', () => {
  it('acks in seq order once every store holds the record; the stores end identical', async () => {
    const a = new MemoryLogStore();
    const b = new MemoryLogStore();
    const primary = await PrimaryWriter.start({
      stores: [a, b],
      compression,
      limits: { batchEntriesMax: 64 },
    });
    const order: bigint[] = [];
    const seqs = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        primary.append(op(i)).then((s) => {
          order.push(s);
          return s;
        }),
      ),
    );
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i + 1)));
    expect(order).toEqual([...order].sort((x, y) => (x < y ? -1 : 1)));
    expect((await a.head()).lastSeq).toBe(500n);
    expect(await hexes(a)).toEqual(await hexes(b));
    await primary.close();
  });

  it('hands each acknowledged record to onAcknowledged, in seq order, before its appends resolve', async () => {
    const store = new MemoryLogStore();
    const handed: Entry[] = [];
    const resolvedBeforeHanded: bigint[] = [];
    const primary = await PrimaryWriter.start({
      stores: [store],
      compression,
      limits: { batchEntriesMax: 16 },
      onAcknowledged: (entries) => handed.push(...entries),
    });
    const seqs = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        primary.append(op(i)).then((s) => {
          if (!handed.some((e) => e.seq === s)) resolvedBeforeHanded.push(s);
          return s;
        }),
      ),
    );
    expect(resolvedBeforeHanded).toEqual([]);
    expect(handed.map((e) => e.seq)).toEqual(seqs);
    // Exactly what the store holds, checksums included.
    const stored = (await collect(store.read(seq(1n)))).flatMap(
      (r) => decodeRecord(r.bytes, compression).entries,
    );
    const plain = (entries: readonly Entry[]) =>
      entries.map((e) => ({ ...e, value: new Uint8Array(e.value) }));
    expect(plain(handed)).toEqual(plain(stored));
    await primary.close();
  });

  it.each([
    [5_000, 5],
    [0, 2],
  ])(
    'run-ahead %i bytes: the fast store gets %i records while the slow one holds none; acks wait for both',
    async (runAheadBytesMax, ahead) => {
      const fast = new MemoryLogStore();
      const slowInner = new MemoryLogStore();
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const slow = new Proxy(slowInner, {
        get(target, key, receiver) {
          if (key === 'append')
            return async (...args: Parameters<MemoryLogStore['append']>) => {
              await gate;
              return target.append(...args);
            };
          const value: unknown = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const primary = await PrimaryWriter.start({
        stores: [fast, slow],
        compression,
        limits: { batchEntriesMax: 1, pipelineDepth: 2, lingerMs: 0, runAheadBytesMax },
      });
      let acked = 0;
      // ~1,060 estimated bytes each: past the depth of 2, batches are cut while < 5,000 bytes are in flight.
      const value = new Uint8Array(1000);
      const appends = Array.from({ length: 20 }, (_, i) =>
        primary.append({ type: 'put', key: `k${i}`, value }).then((s) => (acked++, s)),
      );
      await until(async () => (await fast.head()).lastSeq === BigInt(ahead), `fast store at ${ahead}`);
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      expect((await fast.head()).lastSeq).toBe(BigInt(ahead));
      expect((await slowInner.head()).lastSeq).toBe(0n);
      expect(acked).toBe(0);
      open();
      expect(await Promise.all(appends)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
      expect(await hexes(fast)).toEqual(await hexes(slowInner));
      await primary.close();
    },
  );

  it('rides out a store going down and up under a pipelined load: every ack held by both, in order', async () => {
    const healthy = new MemoryLogStore();
    const inner = new MemoryLogStore();
    const flaky = new FlakyStore(inner);
    const primary = await PrimaryWriter.start({
      stores: [healthy, flaky],
      compression,
      limits: { batchEntriesMax: 8, pipelineDepth: 8 },
      retryDelayMs: 2,
      retryDelayMaxMs: 10,
    });
    const order: bigint[] = [];
    const appends: Promise<bigint>[] = [];
    for (let round = 0; round < 6; round++) {
      flaky.down = round % 2 === 1; // up, down, up, … while appends keep coming
      const refusedBefore = flaky.refused;
      for (let i = 0; i < 100; i++)
        appends.push(primary.append(op(round * 100 + i)).then((s) => (order.push(s), s)));
      if (flaky.down) await until(() => flaky.refused > refusedBefore + 2, 'appends refused while down');
    }
    flaky.down = false;
    const seqs = await Promise.all(appends);
    expect(seqs).toEqual(Array.from({ length: 600 }, (_, i) => BigInt(i + 1)));
    expect(order).toEqual(seqs);
    expect(primary.state).toBe('running');
    expect(await hexes(inner)).toEqual(await hexes(healthy));
    expect((await inner.head()).lastSeq).toBe(600n);
    await primary.close();
  });

  it('refuses bad input with a typed error and writes nothing', async () => {
    const store = new MemoryLogStore();
    const primary = await PrimaryWriter.start({ stores: [store], compression });
    await expect(primary.append({ type: '', key: 'k', value: new Uint8Array() })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(
      primary.append({ type: 'put', key: 'k'.repeat(5000), value: new Uint8Array() }),
    ).rejects.toBeInstanceOf(TooLargeError);
    await expect(
      primary.appendMany([op(1), { type: 'put', key: 'k', value: new Uint8Array(5 * 1024 * 1024) }]),
    ).rejects.toBeInstanceOf(TooLargeError);
    expect((await store.head()).lastSeq).toBe(0n);
    await primary.close();
  });

  it('start copies what a shorter store misses, then continues at head + 1', async () => {
    const long = new MemoryLogStore();
    const short = new MemoryLogStore();
    await long.fence(epoch(1n));
    await short.fence(epoch(1n));
    for (const s of [1n, 4n, 7n]) await long.append(makeRecord(s, 3), epoch(1n));
    await short.append(makeRecord(1n, 3), epoch(1n));
    const primary = await PrimaryWriter.start({ stores: [short, long], compression });
    expect(primary.epoch).toBe(2n);
    expect(await primary.append(op(1))).toBe(10n);
    expect(await hexes(short)).toEqual(await hexes(long));
    await primary.close();
  });

  it('start refuses stores that hold different records at one seq', async () => {
    const a = new MemoryLogStore();
    const b = new MemoryLogStore();
    await a.fence(epoch(1n));
    await b.fence(epoch(1n));
    await a.append(makeRecord(1n, 3), epoch(1n));
    await b.append(makeRecord(1n, 2), epoch(1n));
    await b.append(makeRecord(3n, 2), epoch(1n));
    await expect(PrimaryWriter.start({ stores: [a, b], compression })).rejects.toBeInstanceOf(IntegrityError);
  });

  it('a newer writer fences it: its next append fails and it stops for good', async () => {
    const store = new MemoryLogStore();
    const old = await PrimaryWriter.start({ stores: [store], compression });
    await old.append(op(1));
    const next = await PrimaryWriter.start({ stores: [store], compression });
    await expect(old.append(op(2))).rejects.toBeInstanceOf(FencedError);
    expect(old.state).toBe('stopped');
    await expect(old.append(op(3))).rejects.toBeInstanceOf(FencedError);
    expect(await next.append(op(4))).toBe(2n);
    const records = await collect(store.read(seq(1n)));
    expect(records.map((r) => r.epoch)).toEqual([1n, 2n]);
    await next.close();
  });
});

describe('standby following a file log', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'oplog-standby-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('applies exactly the acknowledged entries, in order, and reaches watching', async () => {
    const writerStore = await FileLogStore.open({ dataDir, clusterId: 's1' });
    const readerStore = await FileLogStore.open({
      dataDir,
      clusterId: 's1',
      mode: 'reader',
      pollIntervalMs: 20,
    });
    const primary = await PrimaryWriter.start({ stores: [writerStore], compression });
    const applied = new KvStateMachine();
    const expected = new KvStateMachine();
    const states: string[] = [];
    const standby = new Standby({
      source: readerStore,
      stateMachine: applied,
      compression,
      onState: (_from, to) => states.push(to),
    });
    standby.start();
    const ops = Array.from({ length: 3000 }, (_, i) => op(i));
    const seqs = await primary.appendMany(ops);
    seqs.forEach((s, i) => expected.apply({ ...ops[i]!, seq: s, epoch: primary.epoch, ts: 0, checksum: 0n }));
    await standby.waitForApplied(3000n);
    expect(standby.status).toMatchObject({ appliedSeq: 3000n, divergent: false, lagEntries: 0n });
    expect(applied.hash()).toBe(expected.hash());
    expect(states.slice(0, 3)).toEqual(['connecting', 'syncing', 'watching']);
    await primary.close();
    await standby.stop();
    await writerStore.close();
    await readerStore.close();
  });
});
