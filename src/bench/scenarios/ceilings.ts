/**
 * The servers' own ceilings for the bytes our records have. Our writer runs first, on
 * the setup, with 64 concurrent callers of 512-byte single-entry appends; the store
 * wrapper keeps the bytes of the records it cut. Then, on the same servers, in the same
 * run, those exact bytes go through the bare clients, 4 records in flight (the writer's
 * pipeline depth), no fencing and no reading back:
 *
 * - etcd: a plain put of each record's bytes under a key of its own, no compare (our
 *   store's transaction adds the epoch and head compares and a head put);
 * - Kafka: a kafkajs producer (idempotent, acks=-1, no transactions), one message per
 *   record; and a bare transactional loop, one record per begin → send → commit, the
 *   floor of any design that commits transactionally (ours groups queued records into one).
 *
 * Every ratio is our entries/s over the ceiling's, where a ceiling's entries/s is its
 * records/s times the mean entries per record our writer cut.
 */
import { Etcd3 } from 'etcd3';
import { Kafka, logLevel } from 'kafkajs';
import type { EtcdStoreConfig, KafkaStoreConfig } from '../../config/types.js';
import { PrimaryWriter } from '../../primary/primary-writer.js';
import { CountingStore } from '../counting-store.js';
import { closedLoop } from '../loops.js';
import { CEILING_CLIENTS, CEILING_IN_FLIGHT, FIXED_VALUE_BYTES, type BenchPlan } from '../plan.js';
import { ratio, type CeilingRow } from '../results.js';
import { openSetup, removeEtcdPrefix, removeKafkaTopics, type Setup } from '../targets.js';
import { Workload } from '../workload.js';

/** Records kept for the ceilings to send (cycled through). */
const KEPT_RECORDS = 2_000;

interface Shape {
  readonly records: readonly Uint8Array[];
  readonly bytesMean: number;
  readonly entriesPerRecord: number;
}

export async function ceilingsScenario(plan: BenchPlan): Promise<CeilingRow[]> {
  const rows: CeilingRow[] = [];
  for (const setup of plan.setups) {
    if (setup.name === 'file') continue;
    const { row, shape } = await ours(plan, setup);
    rows.push(row);
    plan.progress(`ceilings ${setup.name}: ours ${Math.round(row.entriesPerS)} entries/s`);
    for (const store of setup.stores) {
      const ceilings =
        store.kind === 'etcd'
          ? [await etcdPut(plan, store, shape)]
          : store.kind === 'kafka'
            ? [await kafkaProducer(plan, store, shape), await kafkaTransactions(plan, store, shape)]
            : [];
      for (const ceiling of ceilings) {
        const full: CeilingRow = {
          ...ceiling,
          store: setup.name,
          oursOverThis: ratio(row.entriesPerS, ceiling.entriesPerS),
        };
        rows.push(full);
        plan.progress(
          `ceilings ${setup.name}: ${full.what} ${Math.round(full.entriesPerS)} entries/s (ours / this ${full.oursOverThis!.toFixed(2)})`,
        );
      }
    }
  }
  return rows;
}

async function ours(plan: BenchPlan, setup: Setup): Promise<{ row: CeilingRow; shape: Shape }> {
  const stores = await openSetup(setup, plan.ids.take('ceiling-ours'));
  const counting = stores.stores.map((s) => new CountingStore(s, KEPT_RECORDS));
  let writer: PrimaryWriter | undefined;
  try {
    writer = await PrimaryWriter.start({ stores: counting, compression: plan.compression });
    const w = writer;
    const workload = new Workload(FIXED_VALUE_BYTES);
    let next = 0;
    counting[0]!.resetCounts();
    const result = await closedLoop(() => w.append(workload.op(next++)), {
      clients: CEILING_CLIENTS,
      durationMs: plan.caseMs,
      warmupMs: plan.warmupMs,
    });
    const first = counting[0]!;
    const records = first.kept;
    if (records.length === 0) throw new Error(`ceilings ${setup.name}: our writer stored no record`);
    const entriesPerRecord = ratio(first.entries, first.records);
    const bytesMean = ratio(first.bytes, first.records);
    const entriesPerS = ratio(result.ops, result.seconds);
    return {
      row: {
        store: setup.name,
        what: 'ours',
        inFlight: CEILING_CLIENTS,
        records: Math.round(ratio(result.ops, entriesPerRecord)),
        seconds: result.seconds,
        recordsPerS: ratio(entriesPerS, entriesPerRecord),
        entriesPerS,
        recordBytesMean: bytesMean,
        entriesPerRecord,
      },
      shape: { records, bytesMean, entriesPerRecord },
    };
  } finally {
    await writer?.close({ drainMs: 10_000 });
    await stores.dispose();
  }
}

type Ceiling = Omit<CeilingRow, 'store' | 'oursOverThis'>;

async function measureCeiling(
  plan: BenchPlan,
  what: string,
  inFlight: number,
  shape: Shape,
  send: (bytes: Uint8Array, index: number) => Promise<unknown>,
): Promise<Ceiling> {
  let next = 0;
  const result = await closedLoop(
    () => {
      const index = next++;
      return send(shape.records[index % shape.records.length]!, index);
    },
    { clients: inFlight, durationMs: plan.caseMs, warmupMs: plan.warmupMs },
  );
  const recordsPerS = ratio(result.ops, result.seconds);
  return {
    what,
    inFlight,
    records: result.ops,
    seconds: result.seconds,
    recordsPerS,
    entriesPerS: recordsPerS * shape.entriesPerRecord,
    recordBytesMean: shape.bytesMean,
    entriesPerRecord: shape.entriesPerRecord,
  };
}

async function etcdPut(plan: BenchPlan, config: EtcdStoreConfig, shape: Shape): Promise<Ceiling> {
  const prefix = `/${config.prefix}/${plan.ids.take('ceiling-etcd')}/`;
  const client = new Etcd3({
    hosts: config.hosts.map((h) => `http://${h}`),
    grpcOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
  });
  try {
    return await measureCeiling(plan, 'etcd put', CEILING_IN_FLIGHT, shape, (bytes, index) =>
      client
        .put(`${prefix}${String(index).padStart(20, '0')}`)
        .value(Buffer.from(bytes))
        .exec(),
    );
  } finally {
    client.close();
    await removeEtcdPrefix(config, prefix);
  }
}

async function withTopic<T>(
  plan: BenchPlan,
  config: KafkaStoreConfig,
  label: string,
  body: (kafka: Kafka, topic: string) => Promise<T>,
): Promise<T> {
  const kafka = new Kafka({ brokers: [...config.brokers], logLevel: logLevel.NOTHING });
  const topic = `${config.topicPrefix}.${plan.ids.take(label)}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  try {
    return await body(kafka, topic);
  } finally {
    await removeKafkaTopics(config, [topic]);
  }
}

async function kafkaProducer(plan: BenchPlan, config: KafkaStoreConfig, shape: Shape): Promise<Ceiling> {
  return withTopic(plan, config, 'ceiling-producer', async (kafka, topic) => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      return await measureCeiling(plan, 'kafka producer', CEILING_IN_FLIGHT, shape, (bytes) =>
        producer.send({ topic, acks: -1, messages: [{ value: Buffer.from(bytes) }] }),
      );
    } finally {
      await producer.disconnect();
    }
  });
}

async function kafkaTransactions(plan: BenchPlan, config: KafkaStoreConfig, shape: Shape): Promise<Ceiling> {
  return withTopic(plan, config, 'ceiling-txn', async (kafka, topic) => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      transactionalId: `${topic}.txn`,
    });
    await producer.connect();
    try {
      // One transaction at a time: a transactional producer cannot overlap them.
      return await measureCeiling(plan, 'kafka transactions', 1, shape, async (bytes) => {
        const transaction = await producer.transaction();
        try {
          await transaction.send({ topic, acks: -1, messages: [{ value: Buffer.from(bytes) }] });
          await transaction.commit();
        } catch (error) {
          // The send or commit failed: that error is the one reported (the bench stops);
          // an abort that fails too adds nothing to it.
          await transaction.abort().catch(() => undefined);
          throw error;
        }
      });
    } finally {
      await producer.disconnect();
    }
  });
}
