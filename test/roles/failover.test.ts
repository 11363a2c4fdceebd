/**
 * Failover with real processes on real etcd + Kafka (DESIGN.md invariants 1–3): a
 * primary and two standbys in separate processes under a steady append load; kill -9
 * the primary; promote the most caught-up standby; it appends; the other standby
 * follows the new epoch. A history checker then compares every acknowledged seq and
 * value with the log, and both state machines with a replay of the log: nothing
 * acknowledged lost, nothing applied twice or out of order, equal states at equal seq.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { decodeRecord } from '../../src/core/record-codec.js';
import { seq } from '../../src/core/types.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import { testCompression } from '../helpers/entries.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';
import { Node, waitFor } from './node.js';

describeWithEtcd('failover (etcd)', (etcdEndpoint) => {
  describeWithKafka('failover (etcd + kafka)', (kafkaEndpoint) => {
    it('kill -9 the primary under load, promote a standby: nothing acknowledged lost or applied twice', async () => {
      const cluster = `failover-${process.pid}-${Date.now()}`;
      const script = join(import.meta.dirname, 'node-child.ts');
      const nodes: Node[] = [];
      try {
        const primary = new Node(script, ['primary', etcdEndpoint, kafkaEndpoint, cluster]);
        nodes.push(primary);
        await primary.next('ready');
        const standbys = [0, 1].map(
          () => new Node(script, ['standby', etcdEndpoint, kafkaEndpoint, cluster]),
        );
        nodes.push(...standbys);
        await Promise.all(standbys.map((s) => s.next('ready')));
        primary.child.stdin!.write('load 100000\n');
        await waitFor(async () => primary.acked.length >= 600, 'load');
        primary.kill();
        const oldAcked = [...primary.acked];

        // Both standbys catch up with what the stores hold, then the most caught-up wins.
        // Committed = held by every store; a record only one store got before the kill is
        // not acknowledged, and the promotion's reconciliation decides it.
        const etcd = new EtcdLogStore({ hosts: etcdEndpoint, clusterId: cluster });
        const kafkaHead = new KafkaLogStore({ brokers: kafkaEndpoint, clusterId: cluster });
        const heads = [(await etcd.head()).lastSeq, (await kafkaHead.head()).lastSeq];
        await kafkaHead.close();
        const head = heads[0]! < heads[1]! ? heads[0]! : heads[1]!;
        expect(head).toBeGreaterThanOrEqual(BigInt(oldAcked.at(-1)![0]));
        const applied = async (n: Node) =>
          BigInt(((await n.ask('status', 'status'))['status'] as { appliedSeq: string }).appliedSeq);
        await waitFor(
          async () => (await applied(standbys[0]!)) >= head && (await applied(standbys[1]!)) >= head,
          'catch-up',
        );
        const [winner, follower] = standbys as [Node, Node];
        const promoted = await winner.ask('promote', 'promoted');
        expect(BigInt(promoted['promoted'] as string)).toBe(2n);
        winner.child.stdin!.write('load 200\n');
        await winner.next('loaded');
        const last = BigInt(winner.acked.at(-1)![0]);
        await waitFor(async () => (await applied(follower)) >= last, 'follower on the new epoch');
        await waitFor(async () => (await applied(winner)) >= last, 'winner applying its own log');

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
        for (const node of nodes) node.kill();
      }
    }, 240_000);
  });
});
