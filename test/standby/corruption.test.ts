/**
 * Corrupted bytes in a real store (DESIGN.md invariant 8): a record damaged in etcd is
 * detected, never applied, and repaired from the other store that holds a good copy;
 * with no good copy anywhere, its seqs become a gap that the skip policy resolves (the
 * node is then divergent, and says which seqs it skipped).
 */
import { Etcd3 } from 'etcd3';
import { expect, it } from 'vitest';
import type { Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { Standby } from '../../src/standby/standby.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { testCompression } from '../helpers/entries.js';
import { CheckedKv, until } from '../helpers/waiting.js';
import { describeWithEtcd } from '../setup/servers.js';

describeWithEtcd('corrupted records', (endpoint) => {
  const compression = testCompression();
  const op = (i: number): Op => ({ type: 'put', key: `k${i % 7}`, value: Buffer.from(`value-${i}`) });

  /** Writes 3 batches to etcd + memory, then flips a byte in the 2nd etcd record. */
  async function damagedLog(clusterId: string) {
    const etcd = new EtcdLogStore({ hosts: endpoint, clusterId });
    const memory = new MemoryLogStore();
    const primary = await PrimaryWriter.start({ stores: [etcd, memory], compression });
    for (let b = 0; b < 3; b++)
      await primary.appendMany(Array.from({ length: 10 }, (_, i) => op(b * 10 + i)));
    await primary.close();
    const client = new Etcd3({ hosts: `http://${endpoint}` });
    const records = await client.getAll().prefix(`/oplog/${clusterId}/log/`).sort('Key', 'Ascend').buffers();
    const [key, bytes] = Object.entries(records)[1]!;
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 5]! ^= 0x40;
    await client.put(key).value(damaged);
    client.close();
    return { etcd, memory, damagedSeq: BigInt(key.split('/').at(-1)!) };
  }

  /** A standby on `etcd` alone that skips a gap quickly (policy skip). */
  function skippingStandby(etcd: EtcdLogStore) {
    const kv = new CheckedKv();
    const standby = new Standby({
      startWriter: startPrimaryWriter,
      source: etcd,
      stateMachine: kv,
      compression,
      tickMs: 10,
      applier: { skipPolicy: 'skip', gapRequestDelayMs: 20, skipTimeoutMs: 200, fetchBackoffMs: 20 },
    });
    standby.start();
    return { kv, standby };
  }

  it('repairs from the other store: everything applied once, in order', async () => {
    const { etcd, memory } = await damagedLog(`corrupt-a-${process.pid}-${Date.now()}`);
    const kv = new CheckedKv();
    const standby = new Standby({
      startWriter: startPrimaryWriter,
      source: etcd,
      fetchStore: memory,
      stateMachine: kv,
      compression,
      tickMs: 10,
    });
    standby.start();
    await until(() => standby.status.appliedSeq === 30n, 'all applied');
    expect(kv.seqs).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i + 1)));
    expect(standby.status.corruptRecords).toBeGreaterThan(0);
    expect(standby.status.divergent).toBe(false);
    await standby.stop();
    await etcd.close();
  });

  it('with no good copy the seqs are skipped per policy and the node is divergent', async () => {
    const { etcd, damagedSeq } = await damagedLog(`corrupt-b-${process.pid}-${Date.now()}`);
    const { kv, standby } = skippingStandby(etcd);
    await until(() => standby.status.appliedSeq === 30n, 'applied past the damage');
    expect(standby.status.divergent).toBe(true);
    expect(standby.status.skipped).toEqual([{ fromSeq: damagedSeq, toSeq: damagedSeq + 9n }]);
    expect(kv.seqs).not.toContain(damagedSeq);
    await standby.stop();
    await etcd.close();
  });

  it('a record deleted from etcd: the gap is skipped, and the divergent node refuses promotion unless forced', async () => {
    const clusterId = `deleted-${process.pid}-${Date.now()}`;
    const etcd = new EtcdLogStore({ hosts: endpoint, clusterId });
    const primary = await PrimaryWriter.start({ stores: [etcd], compression });
    for (let b = 0; b < 3; b++)
      await primary.appendMany(Array.from({ length: 10 }, (_, i) => op(b * 10 + i)));
    await primary.close();
    const client = new Etcd3({ hosts: `http://${endpoint}` });
    const keys = Object.keys(await client.getAll().prefix(`/oplog/${clusterId}/log/`).buffers()).sort();
    const deleted = keys[1]!;
    await client.delete().key(deleted).exec();
    client.close();
    const deletedSeq = BigInt(deleted.split('/').at(-1)!);

    const { kv, standby } = skippingStandby(etcd);
    await until(
      () => standby.status.appliedSeq === 30n && standby.status.divergent,
      'skipped the deleted record',
    );
    expect(standby.status.skipped[0]?.fromSeq).toBe(deletedSeq);
    expect(kv.seqs).not.toContain(deletedSeq);
    await expect(standby.promote()).rejects.toMatchObject({ blockers: ['divergent'] });
    const writer = await standby.promote({ force: true });
    expect(standby.status.promotionOverrides).toEqual(['divergent']);
    expect(await writer.append(op(30))).toBe(31n);
    await standby.stop();
    await etcd.close();
  });
});
