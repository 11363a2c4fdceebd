/**
 * Replication end to end on etcd + Kafka. (1) Lag: a primary writes every record to
 * etcd and Kafka; a standby follows one (gaps from the other) in the same process, so one
 * clock measures append-call → applied-on-the-standby per entry, at fixed offered loads
 * (open loop) of 1k, 5k and 20k entries/s with 512-byte values. (2) Failover: separate
 * processes; time from kill -9 of the primary to the first acknowledged append on the
 * promoted standby, promoted by hand (the harness calls promote at once) and by
 * automatic failover (1 s etcd lease). Uses OPLOG_TEST_ETCD / OPLOG_TEST_KAFKA if set,
 * else starts both. Run: npm run bench:replication
 */
import { nativeZstd } from '../src/compression/zstd.js';
import type { Entry, Op } from '../src/core/types.js';
import { PrimaryWriter } from '../src/primary/primary-writer.js';
import { KvStateMachine } from '../src/snapshot/state-machine.js';
import { Standby } from '../src/standby/standby.js';
import { EtcdLogStore } from '../src/stores/etcd/etcd-store.js';
import { KafkaLogStore } from '../src/stores/kafka/kafka-store.js';
import { EtcdServer } from '../test/setup/etcd-server.js';
import { KafkaServer } from '../test/setup/kafka-server.js';
import { NodeCluster, type Node } from '../test/roles/node.js';
import { until } from '../test/helpers/waiting.js';
import { fmt, machine, percentile, table } from './harness.js';
import { VALUE_BYTES, workloadValue } from './workload.js';

const LOAD_MS = Number(process.env['OPLOG_BENCH_MS'] ?? '5000');
const etcdServer = process.env['OPLOG_TEST_ETCD'] ? undefined : await EtcdServer.start();
const kafkaServer = process.env['OPLOG_TEST_KAFKA'] ? undefined : await KafkaServer.start();
const etcdEndpoint = process.env['OPLOG_TEST_ETCD'] ?? etcdServer!.endpoint;
const kafkaEndpoint = process.env['OPLOG_TEST_KAFKA'] ?? kafkaServer!.endpoint;
const compression = nativeZstd()!;
const run = Date.now();

class TimedKv extends KvStateMachine {
  readonly appliedAtMs = new Map<bigint, number>();
  override apply(entry: Entry): void {
    this.appliedAtMs.set(entry.seq, performance.now());
    super.apply(entry);
  }
}

async function lagAt(rate: number, source: 'kafka' | 'etcd'): Promise<(string | number)[]> {
  const clusterId = `repl-${run}-${rate}-${source}`;
  const stores = [
    new EtcdLogStore({ hosts: etcdEndpoint, clusterId, prefix: 'bench' }),
    new KafkaLogStore({ brokers: kafkaEndpoint, clusterId, topicPrefix: 'bench' }),
  ] as const;
  const primary = await PrimaryWriter.start({ stores: [...stores], compression });
  const kv = new TimedKv();
  const kafkaReader = new KafkaLogStore({ brokers: kafkaEndpoint, clusterId, topicPrefix: 'bench' });
  const etcdReader = new EtcdLogStore({ hosts: etcdEndpoint, clusterId, prefix: 'bench' });
  const readers =
    source === 'kafka' ? ([kafkaReader, etcdReader] as const) : ([etcdReader, kafkaReader] as const);
  const standby = new Standby({ source: readers[0], fetchStore: readers[1], stateMachine: kv, compression });
  standby.start();
  await until(() => standby.status.state === 'syncing' || standby.status.state === 'watching', 'standby');
  const sentAtMs = new Map<bigint, number>();
  const start = performance.now();
  let offered = 0;
  let refused = 0;
  const pending: Promise<unknown>[] = [];
  while (performance.now() - start < LOAD_MS) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; offered < due; offered++) {
      const op: Op = { type: 'put', key: `users/${offered % 10_000}`, value: workloadValue(offered % 1024) };
      const t0 = performance.now();
      pending.push(
        primary.append(op).then(
          (s) => void sentAtMs.set(s, t0),
          () => void refused++,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const last = [...sentAtMs.keys()].reduce((a, b) => (a > b ? a : b), 0n);
  await standby.waitForApplied(last);
  const lags = [...sentAtMs].map(([s, t0]) => kv.appliedAtMs.get(s)! - t0);
  await standby.stop();
  await primary.close();
  for (const s of [...stores, ...readers]) await s.close();
  const achieved = sentAtMs.size / (LOAD_MS / 1000);
  return [
    source,
    fmt(rate),
    fmt(achieved),
    refused,
    fmt(percentile(lags, 50), 1),
    fmt(percentile(lags, 99), 1),
    fmt(Math.max(...lags), 1),
  ];
}

async function failover(mode: 'manual' | 'auto'): Promise<number> {
  const nodes = await NodeCluster.start({
    etcd: etcdEndpoint,
    kafka: kafkaEndpoint,
    cluster: `fo-${run}-${mode}`,
    auto: mode === 'auto',
  });
  const { primary, standbys } = nodes;
  try {
    primary.child.stdin!.write('load 1000000\n');
    await until(() => primary.acked.length >= 500, 'load', 60_000);
    const killedAt = performance.now();
    primary.kill();
    let winner: Node;
    if (mode === 'manual') {
      winner = standbys[0]!;
      // Promote at once; while the standby is not caught up yet it refuses: ask again.
      for (;;) {
        const answer = winner.nextOf(['promoted', 'refused']);
        winner.child.stdin!.write('promote\n');
        if ('promoted' in (await answer)) break;
        await new Promise((r) => setTimeout(r, 10));
      }
    } else {
      winner = await nodes.promotedStandby();
    }
    const acked = winner.next('acked');
    winner.child.stdin!.write('load 1\n');
    await acked;
    return performance.now() - killedAt;
  } finally {
    nodes.kill();
  }
}

const lagRows = [];
for (const source of ['kafka', 'etcd'] as const)
  for (const rate of [1_000, 5_000, 20_000]) lagRows.push(await lagAt(rate, source));
const manual = await failover('manual');
const auto = await failover('auto');
await etcdServer?.stop();
await kafkaServer?.stop();

console.log(
  `replication bench · ${machine()} · etcd ${etcdEndpoint} · kafka ${kafkaEndpoint} · ${LOAD_MS} ms per load\n`,
);
console.log(
  table(
    [
      'standby source',
      'offered entries/s',
      'achieved entries/s',
      'refused',
      `lag p50 ms (${VALUE_BYTES} B values)`,
      'lag p99 ms',
      'lag max ms',
    ],
    lagRows,
  ),
);
console.log('');
console.log(
  table(
    ['failover', 'kill -9 → first ack on the promoted standby (ms)'],
    [
      ['manual (promote called at once)', fmt(manual)],
      ['automatic (1 s lease)', fmt(auto)],
    ],
  ),
);
