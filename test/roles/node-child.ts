/**
 * One oplog node as a child process, for tests that kill -9 real processes. Stores:
 * etcd and Kafka. Role `primary` runs a writer; role `standby` follows Kafka (gaps from
 * etcd) into a checked key-value state machine and can be promoted. Commands arrive as
 * lines on stdin, answers leave as JSON lines on stdout (bigints as strings):
 *
 *   load <count>   append count ops (puts over 50 keys), printing each acknowledged chunk
 *   status         {"status": …}
 *   promote        {"promoted": epoch} or {"refused": reason}
 *   dump           {"dump": {applied, hash, ordered, keys}}
 *
 * A fifth argument `auto` turns automatic failover on: the primary holds the etcd
 * leader lease (1 s), standbys campaign when it expires. The node itself is the
 * supervisor (src/node/node.ts); this file only speaks the line protocol.
 *
 * Environment, for the run-ahead scenario: OPLOG_TEST_KAFKA_APPEND_DELAY_MS makes the
 * started primary's Kafka appends that much slower (a slow store lane);
 * OPLOG_TEST_STANDBY_SOURCE=etcd makes a standby follow etcd (gaps from Kafka).
 */
import { createInterface } from 'node:readline';
import { loadZstd } from '../../src/compression/zstd.js';
import type { Entry, Op } from '../../src/core/types.js';
import { OplogNode } from '../../src/node/node.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { EtcdElection } from '../../src/stores/etcd/election.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';

const [role, etcdEndpoint, kafkaEndpoint, clusterId, mode] = process.argv.slice(2);
const compression = await loadZstd();
const etcd = new EtcdLogStore({ hosts: etcdEndpoint!, clusterId: clusterId!, callTimeoutMs: 2_000 });
const kafka = new KafkaLogStore({ brokers: kafkaEndpoint!, clusterId: clusterId! });
const kafkaDelayMs = Number(process.env['OPLOG_TEST_KAFKA_APPEND_DELAY_MS'] ?? 0);
/** The primary's Kafka, its appends `kafkaDelayMs` slower. */
const writerKafka =
  kafkaDelayMs === 0
    ? kafka
    : new Proxy(kafka, {
        get(target, key) {
          if (key === 'append')
            return async (...args: Parameters<KafkaLogStore['append']>) => {
              await new Promise((r) => setTimeout(r, kafkaDelayMs));
              return target.append(...args);
            };
          const value: unknown = Reflect.get(target, key);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
const [source, fetchStore] =
  process.env['OPLOG_TEST_STANDBY_SOURCE'] === 'etcd' ? [etcd, kafka] : [kafka, etcd];
const send = (value: unknown) =>
  process.stdout.write(
    `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
  );

/** Records every applied seq; `ordered` stays true only while seqs go 1, 2, 3, … */
class CheckedKv extends KvStateMachine {
  last = 0n;
  ordered = true;
  override apply(entry: Entry): void {
    if (entry.seq !== this.last + 1n) this.ordered = false;
    this.last = entry.seq;
    super.apply(entry);
  }
}
const kv = new CheckedKv();

const node = new OplogNode({
  role: role === 'primary' ? 'primary' : 'standby',
  primary: { stores: [etcd, writerKafka], compression },
  standby: { source, fetchStore, stateMachine: kv, compression },
  ...(mode === 'auto'
    ? {
        election: new EtcdElection(etcd, { leaseTtlS: 1, nodeId: `${role}-${process.pid}` }),
      }
    : {}),
});
await node.start();
send({ ready: role });

let counter = 0;
async function load(count: number): Promise<void> {
  const active = node.writer;
  if (active === undefined) {
    send({ error: 'not a writer' });
    return;
  }
  for (let done = 0; done < count; done += 20) {
    const ops: Op[] = Array.from({ length: Math.min(20, count - done) }, () => {
      const i = counter++;
      return { type: 'put', key: `k${i % 50}`, value: Buffer.from(`${process.pid}-${i}`) };
    });
    const seqs = await active.appendMany(ops);
    send({ acked: seqs.map((s, i) => [s, ops[i]!.key, Buffer.from(ops[i]!.value).toString()]) });
  }
  send({ loaded: count });
}

for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.trim().split(' ');
  try {
    if (command === 'load') void load(Number(arg)).catch((e: unknown) => send({ error: String(e) }));
    else if (command === 'status') send({ status: node.status });
    else if (command === 'promote') {
      const promoted = await node.promote().then(
        (w) => ({ promoted: w.epoch }),
        (e: unknown) => ({ refused: String(e) }),
      );
      send(promoted);
    } else if (command === 'dump')
      send({ dump: { applied: kv.last, hash: kv.hash().toString(16), ordered: kv.ordered, keys: kv.size } });
  } catch (error) {
    send({ error: String(error) });
  }
}
