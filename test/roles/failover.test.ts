/**
 * Failover with real processes on real etcd + Kafka (DESIGN.md invariants 1–3): a
 * primary and two standbys in separate processes under a steady append load; kill -9
 * the primary; promote the most caught-up standby; it appends; the other standby
 * follows the new epoch. A history checker then compares every acknowledged seq and
 * value with the log, and both state machines with a replay of the log: nothing
 * acknowledged lost, nothing applied twice or out of order, equal states at equal seq.
 *
 * The run-ahead case (issue 17): the primary's Kafka appends 50 ms slower and the
 * standbys following etcd, so at the kill etcd may hold records Kafka lacks, which the
 * standbys may already have applied. Promotion reconciles them into Kafka: what a
 * standby applied is in the final log, and nothing acknowledged is lost.
 */
import { expect, it } from 'vitest';
import { decodeRecord } from '../../src/core/record-codec.js';
import { seq } from '../../src/core/types.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import { testCompression } from '../helpers/entries.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';
import { until } from '../helpers/waiting.js';
import { NodeCluster, type Node } from './node.js';

describeWithEtcd('failover (etcd)', (etcdEndpoint) => {
  describeWithKafka('failover (etcd + kafka)', (kafkaEndpoint) => {
    it.each([
      ['', {}],
      [
        ' (run-ahead: Kafka 50 ms slower, standbys following etcd)',
        { OPLOG_TEST_KAFKA_APPEND_DELAY_MS: '50', OPLOG_TEST_STANDBY_SOURCE: 'etcd' },
      ],
    ])(
      'kill -9 the primary under load, promote a standby%s: nothing acknowledged lost or applied twice',
      async (runAhead, env) => {
        const cluster = `failover-${process.pid}-${Date.now()}`;
        const nodes = await NodeCluster.start({ etcd: etcdEndpoint, kafka: kafkaEndpoint, cluster, env });
        const { primary, standbys } = nodes;
        try {
          // With run-ahead, four load loops keep several records in flight.
          for (let i = 0; i < (runAhead === '' ? 1 : 4); i++) primary.child.stdin!.write('load 100000\n');
          await until(() => primary.acked.length >= 600, 'load', 60_000);
          primary.kill();
          const oldAcked = [...primary.acked];

          // Both standbys catch up with what the stores hold, then the most caught-up wins.
          // Committed = held by every store; a record only one store got before the kill is
          // not acknowledged, and the promotion's reconciliation decides it.
          const etcd = new EtcdLogStore({ hosts: etcdEndpoint, clusterId: cluster });
          const kafkaHead = new KafkaLogStore({ brokers: kafkaEndpoint, clusterId: cluster });
          const heads = [(await etcd.head()).lastSeq, (await kafkaHead.head()).lastSeq];
          await kafkaHead.close();
          // With run-ahead the standbys follow etcd, which may be ahead: they catch up with it.
          const head = runAhead === '' ? (heads[0]! < heads[1]! ? heads[0]! : heads[1]!) : heads[0]!;
          expect(head).toBeGreaterThanOrEqual(BigInt(oldAcked.at(-1)![0]));
          // Whether etcd was ahead of Kafka at the kill is timing: in the runs so far it was
          // once (session 6, 21:4x) and level in three later ones, so it is reported, not asserted.
          if (runAhead !== '') console.log(`heads at the kill: etcd ${heads[0]}, kafka ${heads[1]}`);
          await until(
            async () =>
              (await standbys[0]!.appliedSeq()) >= head && (await standbys[1]!.appliedSeq()) >= head,
            'catch-up',
            60_000,
          );
          const [winner, follower] = standbys as [Node, Node];
          const promoted = await winner.ask('promote', 'promoted');
          expect(BigInt(promoted['promoted'] as string)).toBe(2n);
          winner.child.stdin!.write('load 200\n');
          await winner.next('loaded');
          const last = BigInt(winner.acked.at(-1)![0]);
          await until(async () => (await follower.appliedSeq()) >= last, 'follower on the new epoch', 60_000);
          await until(async () => (await winner.appliedSeq()) >= last, 'winner applying its own log', 60_000);

          // History check against the log itself.
          const kafka = new KafkaLogStore({ brokers: kafkaEndpoint, clusterId: cluster });
          const log = new Map<bigint, [string, string, bigint]>();
          const replay = new KvStateMachine();
          for await (const record of kafka.read(seq(1n))) {
            for (const entry of decodeRecord(record.bytes, testCompression()).entries) {
              expect(log.has(entry.seq)).toBe(false);
              log.set(entry.seq, [entry.key, Buffer.from(entry.value).toString(), entry.epoch]);
              replay.apply(entry);
            }
          }
          expect(log.size).toBe(Number(last));
          for (const [s, key, value] of [...oldAcked, ...winner.acked]) {
            expect(log.get(BigInt(s))?.slice(0, 2)).toEqual([key, value]);
          }
          // Epochs never go down along seq; the new primary's entries are epoch 2.
          expect(log.get(last)?.[2]).toBe(2n);
          const dumps = await Promise.all(
            [winner, follower].map(async (n) => (await n.ask('dump', 'dump'))['dump']),
          );
          for (const dump of dumps) {
            expect(dump).toMatchObject({
              applied: String(last),
              ordered: true,
              hash: replay.hash().toString(16),
            });
          }
          await kafka.close();
          await etcd.close();
        } finally {
          nodes.kill();
        }
      },
      240_000,
    );
  });
});
