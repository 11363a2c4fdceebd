/**
 * Kafka store append throughput on a real broker: 512-byte entries encoded into batch
 * records (real codec) and appended through the store (durable and fenced on resolve;
 * appends queued while a transaction runs share the next one), sweeping batch size and
 * appends in flight. Baseline in the same run on the
 * same broker: a raw kafkajs producer (idempotent, acks=-1, maxInFlightRequests 1, no
 * transactions) sending the same record bytes, one send per record. Uses
 * OPLOG_TEST_KAFKA=host:port if set, else starts its own broker.
 * Run: npm run bench:kafka-store
 */
import { Kafka, logLevel } from 'kafkajs';
import { nativeZstd } from '../src/compression/zstd.js';
import { encodeRecord, type BatchRecord } from '../src/core/record-codec.js';
import { epoch } from '../src/core/types.js';
import { bufferView } from '../src/stores/buffer-view.js';
import { KafkaLogStore } from '../src/stores/kafka/kafka-store.js';
import { KafkaServer } from '../test/setup/kafka-server.js';
import { fmt, machine, percentile, runPipelined, table } from './harness.js';
import { VALUE_BYTES, workloadEntries } from './workload.js';

const DURATION_MS = Number(process.env['OPLOG_BENCH_MS'] ?? '4000');
const WARMUP_MS = Number(process.env['OPLOG_BENCH_WARMUP_MS'] ?? '3000');
/** Records are pre-encoded for at most this rate over the whole case. */
const ENTRIES_PER_SEC_CEILING = 800_000;
const compression = nativeZstd()!;
const server = process.env['OPLOG_TEST_KAFKA'] ? undefined : await KafkaServer.start();
const endpoint = process.env['OPLOG_TEST_KAFKA'] ?? server!.endpoint;
const run = Date.now();
/** OPLOG_BENCH_CASES=256x16,1024x4 runs only those batch × in-flight cases. */
const only = process.env['OPLOG_BENCH_CASES']?.split(',');

/** Pre-encoded records, so both sides send identical bytes and encoding is not timed. */
function recordsFor(batch: number, count: number): BatchRecord[] {
  const out: BatchRecord[] = [];
  let next = 1n;
  for (let i = 0; i < count; i++) {
    out.push(encodeRecord({ epoch: epoch(1n), entries: workloadEntries(next, batch), compression }).record);
    next += BigInt(batch);
  }
  return out;
}

type Row = (string | number)[];

/** One case: ours, then the raw baseline, on fresh topics, for `durationMs` each. */
async function runCase(batch: number, inFlight: number, durationMs: number, tag: string): Promise<Row> {
  // Every record either side sends is encoded before the clock starts: encoding on the
  // fly would charge ours (which must send contiguous seqs) for zstd work the baseline
  // (which cycles through the set) never does.
  const records = recordsFor(
    batch,
    Math.ceil((ENTRIES_PER_SEC_CEILING * durationMs) / 1000 / batch) + inFlight,
  );

  const store = new KafkaLogStore({
    brokers: endpoint,
    clusterId: `bench-${run}-${tag}-${batch}-${inFlight}`,
  });
  await store.fence(epoch(1n));
  let next = 0;
  const ours = await runPipelined(
    () => {
      const record = records[next++];
      if (record === undefined)
        throw new Error(
          `ran out of pre-encoded records: raise ENTRIES_PER_SEC_CEILING above ${ENTRIES_PER_SEC_CEILING}`,
        );
      return store.append(record, epoch(1n));
    },
    { inFlight, durationMs },
  );
  await store.close();

  const kafka = new Kafka({ brokers: [endpoint], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `baseline-${run}-${tag}-${batch}-${inFlight}`;
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let j = 0;
  const raw = await runPipelined(
    async () => {
      const record = records[j++ % records.length]!;
      await producer.send({ topic, acks: -1, messages: [{ value: bufferView(record.bytes) }] });
    },
    { inFlight, durationMs },
  );
  await producer.disconnect();

  const oursRate = (ours.completed * batch) / ours.seconds;
  const rawRate = (raw.completed * batch) / raw.seconds;
  return [
    batch,
    inFlight,
    fmt(oursRate),
    fmt((oursRate * VALUE_BYTES) / 1e6, 1),
    fmt(percentile(ours.latenciesMs, 50), 1),
    fmt(percentile(ours.latenciesMs, 99), 1),
    fmt(rawRate),
    fmt(percentile(raw.latenciesMs, 50), 1),
    fmt(oursRate / rawRate, 2),
  ];
}

const rows: Row[] = [];
try {
  // A broker just started runs its first minutes on a cold JIT, which would charge the
  // first cases (ours before raw in each) for it: warm both paths up, untimed.
  for (const [batch, inFlight] of [
    [16, 1],
    [256, 4],
  ] as const)
    await runCase(batch, inFlight, WARMUP_MS, 'warmup');

  for (const [batch, inFlight] of [
    [16, 1],
    [256, 1],
    [256, 4],
    [1024, 1],
    [1024, 4],
    [256, 16],
    [1024, 16],
  ] as const) {
    if (only !== undefined && !only.includes(`${batch}x${inFlight}`)) continue;
    rows.push(await runCase(batch, inFlight, DURATION_MS, 'case'));
  }
} finally {
  // A failed case must not leave the bench's own broker running.
  await server?.stop();
}

console.log(
  `kafka-store bench · ${machine()} · broker ${endpoint} · ${DURATION_MS} ms per case after ${WARMUP_MS} ms of warm-up per path\n`,
);
console.log(
  table(
    [
      'batch entries',
      'in flight',
      'ours entries/s',
      'ours MB/s (values)',
      'ours p50 ms',
      'ours p99 ms',
      'raw producer entries/s',
      'raw p50 ms',
      'ours / raw',
    ],
    rows,
  ),
);
