/**
 * A fresh standby rebuilt from a snapshot plus the log, on real etcd + Kafka: while
 * the install runs it refuses promotion, even forced (DESIGN.md invariant 4); then it
 * applies exactly the seqs after the snapshot and reaches the same state hash as a
 * standby that applied the whole log. A damaged snapshot is refused before anything
 * is restored, and the standby keeps following as before.
 */
import { writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  ChecksumMismatchError,
  InvalidStateError,
  PromotionRefusedError,
  StaleReadError,
} from '../../src/core/errors.js';
import type { Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { FileSnapshotStore, type Snapshot } from '../../src/snapshot/snapshot-store.js';
import { Standby } from '../../src/standby/standby.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import { testCompression } from '../helpers/entries.js';
import { CheckedKv, until } from '../helpers/waiting.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';

const compression = testCompression();
const op = (i: number): Op => ({
  type: i % 9 === 8 ? 'delete' : 'put',
  key: `k${i % 40}`,
  value: Buffer.from(`v${i}`),
});
const dataDir = mkdtempSync(join(tmpdir(), 'oplog-snapinstall-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describeWithEtcd('snapshot install (etcd)', (etcdEndpoint) => {
  describeWithKafka('snapshot install (etcd + kafka)', (kafkaEndpoint) => {
    async function cluster(clusterId: string) {
      const primaryStores = [
        new EtcdLogStore({ hosts: etcdEndpoint, clusterId }),
        new KafkaLogStore({ brokers: kafkaEndpoint, clusterId }),
      ];
      const primary = await PrimaryWriter.start({
        stores: primaryStores,
        compression,
        limits: { batchEntriesMax: 32 },
      });
      const standby = (kv: CheckedKv) => {
        const source = new EtcdLogStore({ hosts: etcdEndpoint, clusterId });
        const fetchStore = new KafkaLogStore({ brokers: kafkaEndpoint, clusterId });
        return {
          node: new Standby({
            startWriter: startPrimaryWriter,
            source,
            fetchStore,
            stateMachine: kv,
            compression,
            tickMs: 10,
          }),
          close: async () => {
            await source.close();
            await fetchStore.close();
          },
        };
      };
      const close = async () => {
        await primary.close();
        for (const s of primaryStores) await s.close();
      };
      return { primary, standby, close };
    }

    it('refuses promotion mid install, then replays only what follows the snapshot', async () => {
      const clusterId = `snap-a-${process.pid}-${Date.now()}`;
      const { primary, standby, close } = await cluster(clusterId);
      const snapshots = new FileSnapshotStore({ dataDir, clusterId }, compression);

      const fullKv = new CheckedKv();
      const full = standby(fullKv);
      full.node.start();
      await primary.appendMany(Array.from({ length: 300 }, (_, i) => op(i)));
      await until(() => full.node.status.appliedSeq === 300n, 'first 300 applied');
      const manifest = await full.node.takeSnapshot(snapshots);
      expect(manifest.lastSeq).toBe(300n);
      await primary.appendMany(Array.from({ length: 200 }, (_, i) => op(300 + i)));

      const freshKv = new CheckedKv();
      const fresh = standby(freshKv);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const installing = fresh.node.installSnapshot(async () => {
        const latest = (await snapshots.latest())!;
        await gate; // a slow download
        return snapshots.load(latest);
      });
      await until(() => fresh.node.status.state === 'installing_snapshot', 'installing');
      await expect(fresh.node.promote()).rejects.toMatchObject({
        blockers: expect.arrayContaining(['installing_snapshot']),
      });
      const forced = fresh.node.promote({ force: true });
      await expect(forced).rejects.toBeInstanceOf(PromotionRefusedError);
      await expect(forced).rejects.toMatchObject({ blockers: ['installing_snapshot'] });
      await expect(fresh.node.takeSnapshot(snapshots)).rejects.toBeInstanceOf(InvalidStateError);
      expect(() => fresh.node.read((sm) => sm.hash())).toThrow(StaleReadError);
      expect(freshKv.seqs).toEqual([]);

      release();
      expect((await installing).lastSeq).toBe(300n);
      fresh.node.start(); // already following: a no-op
      await until(
        () => fresh.node.status.appliedSeq === 500n && full.node.status.appliedSeq === 500n,
        'both at 500',
      );
      expect(freshKv.seqs).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(301 + i)));
      expect(freshKv.hash()).toBe(fullKv.hash());
      expect(fresh.node.status.state).toBe('watching');

      await fresh.node.stop();
      await full.node.stop();
      await fresh.close();
      await full.close();
      await close();
    });

    it('refuses a damaged snapshot before restoring anything and keeps following', async () => {
      const clusterId = `snap-b-${process.pid}-${Date.now()}`;
      const { primary, standby, close } = await cluster(clusterId);
      const snapshots = new FileSnapshotStore({ dataDir, clusterId }, compression);
      const kv = new CheckedKv();
      const node = standby(kv);
      node.node.start();
      await primary.appendMany(Array.from({ length: 100 }, (_, i) => op(i)));
      await until(() => node.node.status.appliedSeq === 100n, '100 applied');
      const manifest = await node.node.takeSnapshot(snapshots);
      const body = join(snapshots.dir, `${String(manifest.lastSeq).padStart(20, '0')}.body`);
      const bytes = readFileSync(body);
      bytes[bytes.length >> 1]! ^= 0x10;
      writeFileSync(body, bytes);

      const hashBefore = kv.hash();
      const load = (): Promise<Snapshot> => snapshots.load(manifest);
      await expect(node.node.installSnapshot(load)).rejects.toBeInstanceOf(ChecksumMismatchError);
      expect(kv.hash()).toBe(hashBefore);
      await primary.appendMany(Array.from({ length: 50 }, (_, i) => op(100 + i)));
      await until(() => node.node.status.appliedSeq === 150n, 'following again');
      expect(kv.seqs).toEqual(Array.from({ length: 150 }, (_, i) => BigInt(i + 1)));

      await node.node.stop();
      await node.close();
      await close();
    });
  });
});
