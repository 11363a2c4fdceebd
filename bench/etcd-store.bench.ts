/**
 * etcd store append throughput on a real etcd: 512-byte entries encoded into batch
 * records (real codec, native zstd) and appended with one fenced transaction per
 * record, sweeping batch size and records in flight. Baseline in the same run and on
 * the same server: the reference design's layout, one etcd key per entry, up to 127
 * puts per transaction (etcd's default limit is 128 operations), 4 transactions in
 * flight. Uses OPLOG_TEST_ETCD=host:port if set, else starts its own etcd.
 * Run: npm run bench:etcd-store
 */
import { Etcd3 } from 'etcd3';
import { nativeZstd } from '../src/compression/zstd.js';
import { encodeRecord, type BatchRecord } from '../src/core/record-codec.js';
import { epoch } from '../src/core/types.js';
import { EtcdLogStore } from '../src/stores/etcd/etcd-store.js';
import { EtcdServer } from '../test/setup/etcd-server.js';
import { fmt, machine, percentile, runPipelined, table } from './harness.js';
import { VALUE_BYTES, workloadEntries, workloadValue } from './workload.js';

const DURATION_MS = Number(process.env['OPLOG_BENCH_MS'] ?? '4000');
const compression = nativeZstd()!;
const server = process.env['OPLOG_TEST_ETCD'] ? undefined : await EtcdServer.start();
const endpoint = process.env['OPLOG_TEST_ETCD'] ?? server!.endpoint;
const run = Date.now();

interface Row {
  readonly label: string;
  readonly entriesPerSecond: number;
  readonly mbPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function ours(batch: number, inFlight: number): Promise<Row> {
  const store = new EtcdLogStore({
    hosts: endpoint,
    clusterId: `bench-${run}-${batch}-${inFlight}`,
    prefix: 'bench',
  });
  await store.fence(epoch(1n));
  let next = 1n;
  const result = await runPipelined(
    () => {
      const entries = workloadEntries(next, batch);
      next += BigInt(batch);
      const { record } = encodeRecord({ epoch: epoch(1n), entries, compression });
      return store.append(record as BatchRecord, epoch(1n));
    },
    { inFlight, durationMs: DURATION_MS },
  );
  await store.close();
  const entriesPerSecond = (result.completed * batch) / result.seconds;
  return {
    label: `ours: ${batch}-entry records, ${inFlight} in flight`,
    entriesPerSecond,
    mbPerSecond: (entriesPerSecond * VALUE_BYTES) / 1e6,
    p50Ms: percentile(result.latenciesMs, 50),
    p99Ms: percentile(result.latenciesMs, 99),
  };
}

async function baseline(inFlight: number): Promise<Row> {
  const client = new Etcd3({ hosts: `http://${endpoint}` });
  const prefix = `/baseline-${run}-${inFlight}/`;
  const perTxn = 127;
  let next = 0;
  const result = await runPipelined(
    () => {
      const puts = Array.from({ length: perTxn }, (_, i) =>
        client.put(`${prefix}${String(next + i).padStart(20, '0')}`).value(Buffer.from(workloadValue(i))),
      );
      next += perTxn;
      return client
        .if(`${prefix}epoch`, 'Version', '==', 0)
        .then(...puts)
        .commit()
        .then(() => undefined);
    },
    { inFlight, durationMs: DURATION_MS },
  );
  client.close();
  const entriesPerSecond = (result.completed * perTxn) / result.seconds;
  return {
    label: `baseline: 1 key per entry, 127 puts/txn, ${inFlight} in flight`,
    entriesPerSecond,
    mbPerSecond: (entriesPerSecond * VALUE_BYTES) / 1e6,
    p50Ms: percentile(result.latenciesMs, 50),
    p99Ms: percentile(result.latenciesMs, 99),
  };
}

const base = await baseline(4);
const rows: Row[] = [base, await baseline(1)];
for (const batch of [128, 512, 1024])
  for (const inFlight of [1, 4, 16]) rows.push(await ours(batch, inFlight));
await server?.stop();

console.log(`etcd-store bench · ${machine()} · etcd at ${endpoint} · ${DURATION_MS} ms per case\n`);
console.log(
  table(
    [
      'case',
      'entries/s',
      'MB/s (values)',
      'p50 commit ms',
      'p99 commit ms',
      'ratio to baseline (4 in flight)',
    ],
    rows.map((r) => [
      r.label,
      fmt(r.entriesPerSecond),
      fmt(r.mbPerSecond, 1),
      fmt(r.p50Ms, 1),
      fmt(r.p99Ms, 1),
      fmt(r.entriesPerSecond / base.entriesPerSecond, 1),
    ]),
  ),
);
