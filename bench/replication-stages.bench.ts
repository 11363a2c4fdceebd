/**
 * Where replication lag goes, stage by stage, at one offered load: for every entry,
 * append call → its record handed to the stores (planner queue) → durable in etcd / in
 * Kafka → seen by the standby's subscription → applied. Same setup as the lag part of
 * replication.bench.ts (primary on etcd + Kafka, a standby in the same process).
 * OPLOG_STAGES_SOURCE=etcd|kafka (default etcd), OPLOG_STAGES_RATE (entries/s, default
 * 5000), OPLOG_STAGES_DEPTH / OPLOG_STAGES_LINGER_MS override the writer's pipeline
 * depth and linger; OPLOG_STAGES_RUN_AHEAD_BYTES the writer's run-ahead (0: off);
 * OPLOG_STAGES_KAFKA_DELAY_MS makes every Kafka append of the writer that much slower
 * (in process, before the append: a slow Kafka lane, as a 50 ms link would make it);
 * OPLOG_STAGES_KAFKA_PROXY_MS puts a TCP proxy (chaos/fault-proxy.ts) between every Kafka
 * client and the broker, which advertises the proxy's port, adding that many ms to each
 * round trip (half each way, 50–250): a real slow link, for every Kafka request.
 * Uses OPLOG_TEST_ETCD / OPLOG_TEST_KAFKA if set, else starts both.
 * Run: npm run bench:replication-stages
 */
import { nativeZstd } from '../src/compression/zstd.js';
import type { BatchRecord } from '../src/core/record-codec.js';
import type { Entry, Epoch, Op, Seq } from '../src/core/types.js';
import { PrimaryWriter } from '../src/primary/primary-writer.js';
import { KvStateMachine } from '../src/snapshot/state-machine.js';
import { Standby } from '../src/standby/standby.js';
import { EtcdLogStore } from '../src/stores/etcd/etcd-store.js';
import { KafkaLogStore } from '../src/stores/kafka/kafka-store.js';
import type { LogStore, Subscription } from '../src/stores/log-store.js';
import { until } from '../test/helpers/waiting.js';
import { EtcdServer } from '../test/setup/etcd-server.js';
import { KafkaServer } from '../test/setup/kafka-server.js';
import { freePort } from '../test/setup/server-process.js';
import { FaultProxy } from '../chaos/fault-proxy.js';
import { fmt, machine, percentile, table } from './harness.js';
import { workloadValue } from './workload.js';

const LOAD_MS = Number(process.env['OPLOG_BENCH_MS'] ?? '5000');
const source = process.env['OPLOG_STAGES_SOURCE'] === 'kafka' ? 'kafka' : 'etcd';
const rate = Number(process.env['OPLOG_STAGES_RATE'] ?? '5000');
const depth = process.env['OPLOG_STAGES_DEPTH'];
const linger = process.env['OPLOG_STAGES_LINGER_MS'];
const runAhead = process.env['OPLOG_STAGES_RUN_AHEAD_BYTES'];
const kafkaDelayMs = Number(process.env['OPLOG_STAGES_KAFKA_DELAY_MS'] ?? '0');
const etcdServer = process.env['OPLOG_TEST_ETCD'] ? undefined : await EtcdServer.start();
const kafkaProxyMs = Number(process.env['OPLOG_STAGES_KAFKA_PROXY_MS'] ?? '0');
const { kafkaServer, kafkaEndpoint, kafkaProxy } = await startKafka();
const etcdEndpoint = process.env['OPLOG_TEST_ETCD'] ?? etcdServer!.endpoint;
const compression = nativeZstd()!;
const clusterId = `stages-${Date.now()}`;

/** firstSeq of each record → when the writer handed it to the stores. */
const handedAt = new Map<bigint, number>();
const durableAt = { etcd: new Map<bigint, number>(), kafka: new Map<bigint, number>() };
const seenAt = new Map<bigint, number>();
const appliedAt = new Map<bigint, number>();

/** A store whose appends are timed (the writer's side). */
class TimedWrites implements LogStore {
  readonly kind: string;
  constructor(
    private readonly inner: LogStore,
    private readonly name: 'etcd' | 'kafka',
  ) {
    this.kind = inner.kind;
  }
  async append(record: BatchRecord, epoch: Epoch): Promise<void> {
    if (this.name === 'etcd') handedAt.set(record.firstSeq, performance.now());
    if (this.name === 'kafka' && kafkaDelayMs > 0) await new Promise((r) => setTimeout(r, kafkaDelayMs));
    await this.inner.append(record, epoch);
    durableAt[this.name].set(record.firstSeq, performance.now());
  }
  read(fromSeq: Seq, limit?: number) {
    return this.inner.read(fromSeq, limit);
  }
  head() {
    return this.inner.head();
  }
  currentEpoch() {
    return this.inner.currentEpoch();
  }
  fence(epoch: Epoch) {
    return this.inner.fence(epoch);
  }
  subscribe(fromSeq: Seq): Subscription {
    return this.inner.subscribe(fromSeq);
  }
  truncateBefore(seq: Seq) {
    return this.inner.truncateBefore(seq);
  }
  close() {
    return this.inner.close();
  }
}

/** A store whose subscription deliveries are timed (the standby's side). */
class TimedSubscription extends TimedWrites {
  override subscribe(fromSeq: Seq): Subscription {
    const inner = super.subscribe(fromSeq);
    return {
      close: () => inner.close(),
      async *[Symbol.asyncIterator]() {
        for await (const event of inner) {
          if (event.type === 'record') seenAt.set(event.record.firstSeq, performance.now());
          yield event;
        }
      },
    };
  }
}

class TimedKv extends KvStateMachine {
  override apply(entry: Entry): void {
    appliedAt.set(entry.seq, performance.now());
    super.apply(entry);
  }
}

const writerStores = [
  new EtcdLogStore({ hosts: etcdEndpoint, clusterId, prefix: 'bench' }),
  new KafkaLogStore({ brokers: kafkaEndpoint, clusterId, topicPrefix: 'bench' }),
] as const;
const primary = await PrimaryWriter.start({
  stores: [new TimedWrites(writerStores[0], 'etcd'), new TimedWrites(writerStores[1], 'kafka')],
  compression,
  limits: {
    ...(depth === undefined ? {} : { pipelineDepth: Number(depth) }),
    ...(linger === undefined ? {} : { lingerMs: Number(linger) }),
    ...(runAhead === undefined ? {} : { runAheadBytesMax: Number(runAhead) }),
  },
});
const etcdReader = new EtcdLogStore({ hosts: etcdEndpoint, clusterId, prefix: 'bench' });
const kafkaReader = new KafkaLogStore({ brokers: kafkaEndpoint, clusterId, topicPrefix: 'bench' });
const [sourceStore, fetchStore] = source === 'etcd' ? [etcdReader, kafkaReader] : [kafkaReader, etcdReader];
const standby = new Standby({
  source: new TimedSubscription(sourceStore, source),
  fetchStore,
  stateMachine: new TimedKv(),
  compression,
});
standby.start();
await until(() => standby.status.state === 'syncing' || standby.status.state === 'watching', 'standby');

const calledAt = new Map<bigint, number>();
const pending: Promise<unknown>[] = [];
const start = performance.now();
for (let offered = 0; performance.now() - start < LOAD_MS;) {
  const due = Math.floor(((performance.now() - start) / 1000) * rate);
  for (; offered < due; offered++) {
    const t0 = performance.now();
    const op: Op = { type: 'put', key: `users/${offered % 10_000}`, value: workloadValue(offered % 1024) };
    pending.push(primary.append(op).then((s) => void calledAt.set(s, t0)));
  }
  await new Promise((r) => setTimeout(r, 1));
}
await Promise.all(pending);
await standby.waitForApplied([...calledAt.keys()].reduce((a, b) => (a > b ? a : b), 0n));

const firstSeqs = [...handedAt.keys()].sort((a, b) => (a < b ? -1 : 1));
const stages: Record<string, number[]> = {
  'append → handed to the stores': [],
  'handed → durable in etcd': [],
  'handed → durable in Kafka': [],
  [`durable in ${source} → seen by the standby`]: [],
  'seen → applied': [],
  'append → applied (total)': [],
};
const column = Object.values(stages);
let r = 0;
for (const [s, t0] of [...calledAt].sort(([a], [b]) => (a < b ? -1 : 1))) {
  while (r + 1 < firstSeqs.length && firstSeqs[r + 1]! <= s) r++;
  const first = firstSeqs[r]!;
  const handed = handedAt.get(first)!;
  const seen = seenAt.get(first);
  column[0]!.push(handed - t0);
  column[1]!.push(durableAt.etcd.get(first)! - handed);
  column[2]!.push(durableAt.kafka.get(first)! - handed);
  if (seen !== undefined) {
    column[3]!.push(seen - durableAt[source].get(first)!);
    column[4]!.push(appliedAt.get(s)! - seen);
  }
  column[5]!.push(appliedAt.get(s)! - t0);
}
await standby.stop();
await primary.close();
for (const store of [...writerStores, etcdReader, kafkaReader]) await store.close();
await etcdServer?.stop();
await kafkaServer?.stop();
await kafkaProxy?.close();

console.log(
  `replication stages · ${machine()} · standby follows ${source} · ${fmt(rate)} entries/s for ${LOAD_MS} ms · ` +
    `${firstSeqs.length} records · depth ${depth ?? 'default'} · linger ${linger ?? 'default'} · ` +
    `run-ahead ${runAhead ?? 'default'} · Kafka appends +${kafkaDelayMs} ms · Kafka round trips +${kafkaProxyMs} ms (proxy)\n`,
);
console.log(
  table(
    ['stage', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
    Object.entries(stages).map(([name, ms]) => [
      name,
      fmt(percentile(ms, 50), 1),
      fmt(percentile(ms, 90), 1),
      fmt(percentile(ms, 99), 1),
      fmt(Math.max(...ms), 1),
    ]),
  ),
);

/**
 * The broker to use: OPLOG_TEST_KAFKA's, or one started here — behind a delaying proxy
 * when OPLOG_STAGES_KAFKA_PROXY_MS is set. The proxy's delay mode holds each chunk
 * 25 + r·100 ms for its random r: a constant r makes it a constant one-way delay.
 */
async function startKafka(): Promise<{
  kafkaServer: KafkaServer | undefined;
  kafkaEndpoint: string;
  kafkaProxy: FaultProxy | undefined;
}> {
  const given = process.env['OPLOG_TEST_KAFKA'];
  if (kafkaProxyMs > 0 && given !== undefined)
    throw new Error('OPLOG_STAGES_KAFKA_PROXY_MS needs a broker started here (unset OPLOG_TEST_KAFKA)');
  if (given !== undefined) return { kafkaServer: undefined, kafkaEndpoint: given, kafkaProxy: undefined };
  if (kafkaProxyMs === 0) {
    const kafkaServer = await KafkaServer.start();
    return { kafkaServer, kafkaEndpoint: kafkaServer.endpoint, kafkaProxy: undefined };
  }
  const oneWayMs = kafkaProxyMs / 2;
  if (oneWayMs < 25 || oneWayMs > 125)
    throw new Error(`OPLOG_STAGES_KAFKA_PROXY_MS must be within 50..250, got ${kafkaProxyMs}`);
  const proxyPort = await freePort();
  const kafkaServer = await KafkaServer.start({ advertisedPort: proxyPort });
  const kafkaProxy = await FaultProxy.start(
    { host: '127.0.0.1', port: kafkaServer.port },
    () => (oneWayMs - 25) / 100,
    proxyPort,
  );
  kafkaProxy.set('delay');
  return { kafkaServer, kafkaEndpoint: kafkaProxy.endpoint, kafkaProxy };
}
