/**
 * File-store append throughput: batches of 1..4096 entries of 512 bytes, encoded by the
 * real codec (native zstd) and appended (a batch above the record cap becomes several
 * records appended together, which the store makes durable with one fdatasync). Next
 * to the machine's own bound measured in the same run: sequential write + fdatasync of
 * the same number of bytes per batch to a plain file in the same directory. Batches
 * are pipelined two deep (encode batch n+1 while batch n is being made durable).
 * Run: npm run bench:file-store
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeZstd } from '../src/compression/zstd.js';
import { encodeRecord, type BatchRecord } from '../src/core/record-codec.js';
import { epoch } from '../src/core/types.js';
import { FileLogStore } from '../src/stores/file/file-store.js';
import { fmt, machine, measureAsync, table } from './harness.js';
import { VALUE_BYTES, workloadEntries } from './workload.js';

const compression = nativeZstd()!;
const RECORD_ENTRIES_MAX = 1024;
const dir = mkdtempSync(join(process.env['OPLOG_BENCH_DIR'] ?? tmpdir(), 'oplog-bench-file-'));

function encodeBatch(firstSeq: bigint, count: number): BatchRecord[] {
  const records: BatchRecord[] = [];
  for (let done = 0; done < count; done += RECORD_ENTRIES_MAX) {
    const entries = workloadEntries(firstSeq + BigInt(done), Math.min(RECORD_ENTRIES_MAX, count - done));
    records.push(encodeRecord({ epoch: epoch(1n), entries, compression }).record);
  }
  return records;
}

const rows: (string | number)[][] = [];
for (const batch of [1, 16, 256, 1024, 4096]) {
  const store = await FileLogStore.open({ dataDir: dir, clusterId: `b${batch}` });
  await store.fence(epoch(1n));
  let next = 1n;
  let storedBytes = 0;
  // Pipeline depth 2, as the primary runs it: encode the next batch while the store
  // makes the previous one durable.
  let previous: Promise<unknown> = Promise.resolve();
  const ours = await measureAsync(
    async () => {
      const records = encodeBatch(next, batch);
      next += BigInt(batch);
      for (const r of records) storedBytes += r.bytes.length;
      const appended = Promise.all(records.map((r) => store.append(r, epoch(1n))));
      await previous;
      previous = appended;
    },
    { minMs: 3000, warmupMs: 300 },
  );
  await previous;
  await store.close();
  const batches = ours.iterations;
  // Bytes per batch as stored (warm-up included in storedBytes, so use the average).
  const bytesPerBatch = storedBytes / Number((next - 1n) / BigInt(batch));
  const raw = await rawBound(bytesPerBatch, `raw${batch}`);
  const oursRate = (batches * batch) / ours.seconds;
  const oursMBs = (batches * batchBytesLogical(batch)) / ours.seconds / 1e6;
  const rawRate = raw.batchesPerSecond * batch;
  rows.push([batch, fmt(oursRate), fmt(oursMBs, 1), fmt(rawRate), fmt(oursRate / rawRate, 2)]);
}

function batchBytesLogical(batch: number): number {
  return batch * VALUE_BYTES;
}

/** Sequential writes of `bytes` + fdatasync each, as fast as the disk allows. */
async function rawBound(bytes: number, name: string): Promise<{ batchesPerSecond: number }> {
  const fh = await open(join(dir, name), 'w');
  const payload = Buffer.alloc(Math.max(1, Math.round(bytes)), 7);
  let offset = 0;
  const m = await measureAsync(
    async () => {
      await fh.write(payload, 0, payload.length, offset);
      offset += payload.length;
      await fh.datasync();
    },
    { minMs: 2000, warmupMs: 200 },
  );
  await fh.close();
  return { batchesPerSecond: m.iterations / m.seconds };
}

rmSync(dir, { recursive: true, force: true });
console.log(`file-store bench · ${machine()} · dir ${process.env['OPLOG_BENCH_DIR'] ?? tmpdir()}\n`);
console.log(
  table(
    [
      'batch entries',
      'ours entries/s',
      'ours MB/s (values)',
      'raw write+fdatasync, same bytes: entries/s',
      'ratio',
    ],
    rows,
  ),
);
