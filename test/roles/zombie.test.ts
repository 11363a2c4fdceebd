/**
 * A zombie primary with real processes on real etcd + Kafka (DESIGN.md invariant 3):
 * the primary holds a 1 s etcd leader lease; SIGSTOP it longer than the lease; automatic
 * failover promotes a standby, which appends; SIGCONT the old primary: its next appends
 * fail with FencedError, it stops writing, and none of its records is in the log after
 * the new epoch's first one.
 */
import { expect, it } from 'vitest';
import { decodeRecord } from '../../src/core/record-codec.js';
import { seq } from '../../src/core/types.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import type { LogStore } from '../../src/stores/log-store.js';
import { testCompression } from '../helpers/entries.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';
import { until } from '../helpers/waiting.js';
import { NodeCluster } from './node.js';

describeWithEtcd('zombie primary (etcd)', (etcdEndpoint) => {
  describeWithKafka('zombie primary (etcd + kafka)', (kafkaEndpoint) => {
    it('SIGSTOP past the lease, automatic failover, SIGCONT: the old primary is fenced and invisible', async () => {
      const cluster = `zombie-${process.pid}-${Date.now()}`;
      const nodes = await NodeCluster.start({
        etcd: etcdEndpoint,
        kafka: kafkaEndpoint,
        cluster,
        auto: true,
      });
      const { primary } = nodes;
      try {
        primary.child.stdin!.write('load 1000000\n');
        await until(() => primary.acked.length >= 300, 'load', 60_000);
        primary.child.kill('SIGSTOP');
        const winner = await nodes.promotedStandby();
        winner.child.stdin!.write('load 100\n');
        await winner.next('loaded');
        primary.child.kill('SIGCONT');
        const error = await primary.next('error', 30_000);
        expect(String(error['error'])).toMatch(/fenced/i);
        expect(await primary.status()).toMatchObject({ state: 'stopped', error: 'OPLOG_FENCED' });

        // In every store: epoch-1 entries only before the first epoch-2 entry.
        const stores: LogStore[] = [
          new EtcdLogStore({ hosts: etcdEndpoint, clusterId: cluster }),
          new KafkaLogStore({ brokers: kafkaEndpoint, clusterId: cluster }),
        ];
        for (const store of stores) {
          const epochs: bigint[] = [];
          const values = new Map<bigint, string>();
          for await (const record of store.read(seq(1n)))
            for (const entry of decodeRecord(record.bytes, testCompression()).entries) {
              epochs.push(entry.epoch);
              values.set(entry.seq, Buffer.from(entry.value).toString());
            }
          const firstNew = epochs.indexOf(2n);
          expect(firstNew).toBeGreaterThan(0);
          expect(epochs.slice(firstNew).every((e) => e === 2n)).toBe(true);
          // Whatever the old primary acknowledged (before or after the pause) is in the log.
          for (const [s, , value] of primary.acked) expect(values.get(BigInt(s))).toBe(value);
          await store.close();
        }
      } finally {
        nodes.kill();
      }
    }, 240_000);
  });
});
