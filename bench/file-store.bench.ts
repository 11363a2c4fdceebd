/**
 * File-store append throughput: batches of 1..4096 entries of 512 bytes, encoded by the
 * real codec (native zstd) and appended (a batch above the record cap becomes several
 * records appended together, which the store makes durable with one fdatasync). Batches
 * are pipelined two deep (encode batch n+1 while batch n is being made durable).
 *
 * Each batch size runs two stores in the same process: the recovery point written per
 * group (the default: after the group's fdatasync, one pwrite + fdatasync of the mark
 * before the acks) and `recoveryPoint: 'off'` (the store as it was before marks),
 * interleaved in short slices over several rounds (the machine is shared and noisy;
 * the ratio is the median of the per-round ratios). Next to them, the machine's own bounds for the same bytes per
 * batch to plain files in the same directory: write + fdatasync; the same followed by
 * a 56-byte pwrite + fdatasync of a second file (the floor of a mark per group); and
 * the two fdatasyncs in parallel (the floor of a lazy mark written with the next
 * group, which would leave the last acknowledged group past the mark).
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
import { workloadEntries } from './workload.js';

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

type MarkMode = 'per-group' | 'off';
type RawMode = 'none' | 'sequential' | 'parallel';
const ROUNDS = 5;
const SLICE_MS = 400;

/** A store kept open across rounds: each call appends for `ms` and returns entries/s. */
async function storeRunner(batch: number, recoveryPoint: MarkMode) {
  const store = await FileLogStore.open({
    dataDir: dir,
    clusterId: `b${batch}-${recoveryPoint}`,
    recoveryPoint,
  });
  await store.fence(epoch(1n));
  let next = 1n;
  let storedBytes = 0;
  let batches = 0;
  const run = async (ms: number): Promise<number> => {
    // Pipeline depth 2, as the primary runs it: encode the next batch while the store
    // makes the previous one durable.
    let previous: Promise<unknown> = Promise.resolve();
    const m = await measureAsync(
      async () => {
        const records = encodeBatch(next, batch);
        next += BigInt(batch);
        batches++;
        for (const r of records) storedBytes += r.bytes.length;
        const appended = Promise.all(records.map((r) => store.append(r, epoch(1n))));
        await previous;
        previous = appended;
      },
      { minMs: ms, warmupMs: 50 },
    );
    await previous;
    return (m.iterations * batch) / m.seconds;
  };
  return { run, bytesPerBatch: () => storedBytes / batches, close: () => store.close() };
}

/**
 * A plain file: each call writes `bytes` sequentially + fdatasync for `ms`, and returns
 * batches/s; with a mark, plus a 56-byte pwrite + fdatasync of a second file after the
 * data's fdatasync (`sequential`) or alongside it (`parallel`).
 */
async function rawRunner(name: string, bytes: number, mark: RawMode) {
  const fh = await open(join(dir, name), 'w');
  const markFh = await open(join(dir, `${name}.mark`), 'w');
  await markFh.write(Buffer.alloc(8192));
  await markFh.sync();
  const payload = Buffer.alloc(Math.max(1, Math.round(bytes)), 7);
  const slot = Buffer.alloc(56, 1);
  let offset = 0;
  let generation = 0;
  const run = async (ms: number): Promise<number> => {
    const m = await measureAsync(
      async () => {
        await fh.write(payload, 0, payload.length, offset);
        offset += payload.length;
        const slotOffset = (generation++ % 2) * 4096;
        if (mark === 'none') await fh.datasync();
        else if (mark === 'sequential') {
          await fh.datasync();
          await markFh.write(slot, 0, slot.length, slotOffset);
          await markFh.datasync();
        } else {
          await markFh.write(slot, 0, slot.length, slotOffset);
          await Promise.all([fh.datasync(), markFh.datasync()]);
        }
      },
      { minMs: ms, warmupMs: 20 },
    );
    return m.iterations / m.seconds;
  };
  return { run, close: async () => (await fh.close(), await markFh.close()) };
}

/**
 * Runs each runner for SLICE_MS per round, ROUNDS rounds, rotating the order, so that
 * the shared machine's noise falls on all of them alike. Returns each one's median
 * rate and the median over rounds of its rate / the first runner's in that round.
 */
async function interleaved(runners: readonly ((ms: number) => Promise<number>)[]) {
  const rates: number[][] = runners.map(() => []);
  for (let round = 0; round < ROUNDS; round++)
    for (let k = 0; k < runners.length; k++) {
      const index = (round + k) % runners.length;
      rates[index]!.push(await runners[index]!(SLICE_MS));
    }
  return {
    medians: rates.map(median),
    ratios: rates.map((r) => median(r.map((rate, round) => rate / rates[0]![round]!))),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const rows: (string | number)[][] = [];
for (const batch of [1, 16, 256, 1024, 4096]) {
  const off = await storeRunner(batch, 'off');
  const marked = await storeRunner(batch, 'per-group');
  const stores = await interleaved([off.run, marked.run]);
  await off.close();
  await marked.close();
  const bytes = marked.bytesPerBatch();
  const raws = await Promise.all(
    (['none', 'sequential', 'parallel'] as const).map((m) => rawRunner(`raw${batch}-${m}`, bytes, m)),
  );
  const raw = await interleaved(raws.map((r) => r.run));
  for (const r of raws) await r.close();
  rows.push([
    batch,
    fmt(stores.medians[0]!),
    fmt(stores.medians[1]!),
    fmt(stores.ratios[1]!, 2),
    fmt(raw.medians[0]! * batch),
    fmt(raw.ratios[1]!, 2),
    fmt(raw.ratios[2]!, 2),
  ]);
}

rmSync(dir, { recursive: true, force: true });
console.log(`file-store bench · ${machine()} · dir ${process.env['OPLOG_BENCH_DIR'] ?? tmpdir()}\n`);
console.log(
  table(
    [
      'batch entries',
      'mark off: entries/s',
      'mark per group: entries/s',
      'per group / off (median of rounds)',
      'raw write+fdatasync: entries/s',
      'raw + mark after / raw',
      'raw + mark in parallel / raw',
    ],
    rows,
  ),
);
