/**
 * The etcd store against a real etcd that this test kills and restarts: appends
 * retried across a kill -9 lose nothing and duplicate nothing, and the subscriber
 * resumes (reporting blind, then visible); compaction while a subscriber is not reading
 * makes it miss nothing; two writers with different epochs — the stale one is fenced
 * and none of its records land after the fence; bad input is refused before any
 * request reaches etcd.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  CorruptStoreError,
  FencedError,
  InvalidClusterIdError,
  TooLargeError,
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
