/**
 * The etcd store against a real etcd that this test kills and restarts: appends
 * retried across a kill -9 lose nothing and duplicate nothing, and the subscriber
 * resumes (reporting blind, then visible); compaction while a subscriber is not reading
 * makes it miss nothing; two writers with different epochs — the stale one is fenced
 * and none of its records land after the fence; bad input is refused before any
 * request reaches etcd.
 */
import { Etcd3, Range } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  CorruptStoreError,
  FencedError,
  InvalidClusterIdError,
  TooLargeError,
  TruncatedError,
} from '../../src/core/errors.js';
import { epoch, seq } from '../../src/core/types.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { collect } from '../contract/log-store.contract.js';
import { appendsAcrossRestart } from './restart-scenario.js';
import { makeRecord, oversizedRecord } from '../helpers/entries.js';
import { EtcdServer } from '../setup/etcd-server.js';
import { describeWithEtcd } from '../setup/servers.js';

describeWithEtcd('etcd store faults', () => {
  let server: EtcdServer;
  beforeAll(async () => {
    server = await EtcdServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const store = (clusterId: string) =>
    new EtcdLogStore({ hosts: server.endpoint, clusterId, callTimeoutMs: 1_000, pollIntervalMs: 200 });

  it('reads in windows of seqs: a record longer than a window, many one-entry records, holes wider than a window, truncation', async () => {
    // Reads page through bounded key windows (etcd 3.4 walks a range's whole index
    // whatever its limit: open-ended pages made reading a long log quadratic). A: seq 1;
    // B: seqs 2..3001, longer than a window; then 300 one-entry records, 3002..3301.
    const writer = store('windows');
    await writer.fence(epoch(1n));
    await writer.append(makeRecord(1n, 1), epoch(1n));
    await writer.append(makeRecord(2n, 3000), epoch(1n));
    for (let s = 3002n; s <= 3301n; s++) await writer.append(makeRecord(s, 1), epoch(1n));
    const firstSeqs = async (from: bigint) => (await collect(writer.read(seq(from)))).map((r) => r.firstSeq);
    expect(await firstSeqs(1n)).toEqual([
      1n,
      2n,
      ...Array.from({ length: 300 }, (_, i) => 3002n + BigInt(i)),
    ]);
    // Inside B, more than a window past its firstSeq: the covering record comes first.
    expect((await firstSeqs(2500n)).slice(0, 2)).toEqual([2n, 3002n]);
    expect(await firstSeqs(3302n)).toEqual([]);

    const admin = new Etcd3({ hosts: `http://${server.endpoint}` });
    const key = (s: bigint) => `/oplog/windows/log/${s.toString().padStart(20, '0')}`;
    try {
      // A hole of 100 one-entry records, read through and read into.
      await admin
        .delete()
        .inRange(new Range(key(3101n), key(3201n)))
        .exec();
      await expect(collect(writer.read(seq(1n)))).rejects.toThrow(/seq 3101\): record at 3201 skips ahead/);
      await expect(collect(writer.read(seq(3150n)))).rejects.toThrow(/records 3150\.\.3200 are missing/);
      // A hole wider than a window: B gone.
      await admin.delete().key(key(2n)).exec();
      const wide = collect(writer.read(seq(1n)));
      await expect(wide).rejects.toThrow(CorruptStoreError);
      await expect(wide).rejects.toThrow(/records 2\.\.3001 are missing/);
      // Nothing at or below seq 1 any more: truncation, naming the first record kept.
      await admin.delete().key(key(1n)).exec();
      const truncated = collect(writer.read(seq(1n)));
      await expect(truncated).rejects.toThrow(TruncatedError);
      await expect(truncated).rejects.toMatchObject({ fromSeq: 1n, firstAvailableSeq: 3002n });
    } finally {
      admin.close();
      await writer.close();
    }
  });

  it('kill -9 and restart during appends: nothing acknowledged lost or duplicated; the subscriber resumes', async () => {
    const writer = store('restart');
    const reader = store('restart');
    await appendsAcrossRestart({
      writer,
      reader,
      total: 60,
      restartAt: 20,
      retryDelayMs: 100,
      restart: async () => {
        await server.kill9();
        setTimeout(() => void server.launch(), 700);
      },
    });
    await writer.close();
    await reader.close();
  });

  it('compaction while a subscriber is not reading: it re-reads and misses nothing', async () => {
    const writer = store('compact');
    await writer.fence(epoch(1n));
    const subscription = store('compact').subscribe(seq(1n));
    const iterator = subscription[Symbol.asyncIterator]();
    const firstSeqs: bigint[] = [];
    await writer.append(makeRecord(1n, 1), epoch(1n));
    while (firstSeqs.length < 1) {
      const next = await iterator.next();
      if (next.value?.type === 'record') firstSeqs.push(next.value.record.firstSeq);
    }
    for (let s = 2n; s <= 40n; s++) await writer.append(makeRecord(s, 1), epoch(1n));
    const admin = new Etcd3({ hosts: `http://${server.endpoint}` });
    const { header } = await admin.get('x').exec();
    await admin.kv.compact({ revision: header.revision, physical: true });
    admin.close();
    for (let s = 41n; s <= 50n; s++) await writer.append(makeRecord(s, 1), epoch(1n));
    while (firstSeqs.length < 50) {
      const next = await iterator.next();
      if (next.value?.type === 'record') firstSeqs.push(next.value.record.firstSeq);
    }
    subscription.close();
    expect(firstSeqs).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i + 1)));
    await writer.close();
  });

  it('a damaged record arriving by the watch is reported where it lies, never skipped', async () => {
    const writer = store('watch-damage');
    await writer.fence(epoch(1n));
    const subscription = store('watch-damage').subscribe(seq(1n));
    const iterator = subscription[Symbol.asyncIterator]();
    const nextRecord = async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done) throw new Error('subscription ended');
        if (next.value.type === 'record') return next.value.record.firstSeq;
      }
    };
    await writer.append(makeRecord(1n, 2), epoch(1n));
    expect(await nextRecord()).toBe(1n);
    // Out of band, as a disk or operator might: damaged bytes at seq 3, then a good record at 5.
    const admin = new Etcd3({ hosts: `http://${server.endpoint}` });
    const damaged = Buffer.from(makeRecord(3n, 2).bytes);
    damaged[damaged.length - 3]! ^= 0x08;
    await admin.put('/oplog/watch-damage/log/00000000000000000003').value(damaged);
    await admin.put('/oplog/watch-damage/head').value('4');
    await writer.append(makeRecord(5n, 2), epoch(1n));
    admin.close();
    await expect(nextRecord()).rejects.toBeInstanceOf(CorruptStoreError);
    subscription.close();
    await writer.close();
  });

  it('records missing at the end of the log (deleted by hand; the head says more) are reported, not read as the end', async () => {
    const writer = store('tail-deleted');
    await writer.fence(epoch(1n));
    for (const first of [1n, 3n, 5n]) await writer.append(makeRecord(first, 2), epoch(1n));
    const admin = new Etcd3({ hosts: `http://${server.endpoint}` });
    await admin.delete().key('/oplog/tail-deleted/log/00000000000000000005').exec();
    admin.close();
    await expect(collect(writer.read(seq(1n)))).rejects.toBeInstanceOf(CorruptStoreError);
    await expect(collect(writer.read(seq(5n)))).rejects.toBeInstanceOf(CorruptStoreError);
    expect((await collect(writer.read(seq(1n), 2))).map((r) => r.firstSeq)).toEqual([1n, 3n]);
    await writer.close();
  });

  it('two writers: the stale one is fenced and nothing of it lands after the fence', async () => {
    const a = store('zombie');
    const b = store('zombie');
    await a.fence(epoch(1n));
    await a.append(makeRecord(1n, 2), epoch(1n));
    await b.fence(epoch(2n));
    const head = await b.head();
    await b.append(makeRecord(head.lastSeq + 1n, 2, 2n), epoch(2n));
    await expect(a.append(makeRecord(5n, 2), epoch(1n))).rejects.toBeInstanceOf(FencedError);
    await expect(a.fence(epoch(2n))).rejects.toBeInstanceOf(FencedError);
    const all = await collect(b.read(seq(1n)));
    expect(all.map((r) => [r.firstSeq, r.epoch])).toEqual([
      [1n, 1n],
      [3n, 2n],
    ]);
    await a.close();
    await b.close();
  });

  it('refuses hostile cluster ids and oversized records before anything reaches etcd', async () => {
    for (const clusterId of ['../x', 'a/b', '', 'x'.repeat(200), '..'])
      expect(() => new EtcdLogStore({ hosts: server.endpoint, clusterId })).toThrow(InvalidClusterIdError);
    expect(() => new EtcdLogStore({ hosts: server.endpoint, clusterId: 'ok', prefix: '../etc' })).toThrow(
      InvalidClusterIdError,
    );
    // Pointed at a port nothing listens on: a network attempt would be StoreUnavailable.
    const nowhere = new EtcdLogStore({ hosts: '127.0.0.1:1', clusterId: 'big', callTimeoutMs: 500 });
    await expect(nowhere.append(oversizedRecord(1n), epoch(1n))).rejects.toBeInstanceOf(TooLargeError);
    await nowhere.close();
  });
});
