/**
 * Replay into a fresh node from the file store: a log of N entries (512-byte values,
 * written by the PrimaryWriter with its default limits) is opened as a reader, as a
 * fresh node opens it, and replayed into an empty KvStateMachine (src/snapshot/replay.ts,
 * no snapshot). Baselines on the same log in the same run: reading, verifying and
 * decoding every record with nothing applied, and reading the segment files' bytes.
 * The log was just written, so all three read from the page cache: this is the CPU
 * cost of a replay, not the disk's.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeVerifiedRecord } from '../../core/record-codec.js';
import { seq } from '../../core/types.js';
import { PrimaryWriter } from '../../primary/primary-writer.js';
import { replay } from '../../snapshot/replay.js';
import { KvStateMachine } from '../../snapshot/state-machine.js';
import { FileLogStore } from '../../stores/file/file-store.js';
import { FIXED_VALUE_BYTES, type BenchPlan } from '../plan.js';
import { ratio, type ReplayRow } from '../results.js';
import { fileDirOf } from '../targets.js';
import { Workload } from '../workload.js';

/** Entries per appendAll call while writing the log, and calls in flight. */
const CHUNK_ENTRIES = 4_096;
const CHUNKS_IN_FLIGHT = 4;

export async function replayScenario(plan: BenchPlan): Promise<ReplayRow[]> {
  const rows: ReplayRow[] = [];
  const workload = new Workload(FIXED_VALUE_BYTES);
  const fileSetup = plan.setups.find((s) => fileDirOf(s) !== undefined);
  const parent = (fileSetup === undefined ? undefined : fileDirOf(fileSetup)) ?? plan.workDir;
  for (const entries of [...plan.replayEntries].sort((a, b) => a - b)) {
    const dataDir = mkdtempSync(join(parent, 'oplog-bench-replay-'));
    const clusterId = plan.ids.take(`replay-${entries}`);
    try {
      await writeLog(plan, dataDir, clusterId, entries, workload);
      rows.push(await measure(plan, dataDir, clusterId, entries));
      const row = rows.at(-1)!;
      plan.progress(
        `replay ${entries} entries: ${Math.round(row.replayEntriesPerS)}/s (decode only ${Math.round(row.decodeOnlyEntriesPerS)}/s, open ${row.openSeconds.toFixed(2)} s)`,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return rows;
}

async function writeLog(
  plan: BenchPlan,
  dataDir: string,
  clusterId: string,
  entries: number,
  workload: Workload,
): Promise<void> {
  const store = await FileLogStore.open({ dataDir, clusterId });
  const writer = await PrimaryWriter.start({ stores: [store], compression: plan.compression });
  try {
    const inFlight: Promise<unknown>[] = [];
    for (let done = 0; done < entries; done += CHUNK_ENTRIES) {
      const count = Math.min(CHUNK_ENTRIES, entries - done);
      inFlight.push(Promise.all(writer.appendAll(workload.ops(done, count))));
      if (inFlight.length >= CHUNKS_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await writer.close();
    await store.close();
  }
}

async function measure(
  plan: BenchPlan,
  dataDir: string,
  clusterId: string,
  entries: number,
): Promise<ReplayRow> {
  const segmentDir = join(dataDir, clusterId, 'segments');
  let t0 = performance.now();
  let logBytes = 0;
  for (const name of readdirSync(segmentDir).sort())
    logBytes += (await readFile(join(segmentDir, name))).length;
  const rawReadSeconds = (performance.now() - t0) / 1000;

  t0 = performance.now();
  const store = await FileLogStore.open({ dataDir, clusterId, mode: 'reader' });
  const openSeconds = (performance.now() - t0) / 1000;
  try {
    t0 = performance.now();
    let decoded = 0;
    for await (const record of store.read(seq(1n)))
      decoded += decodeVerifiedRecord(record, plan.compression).length;
    const decodeSeconds = (performance.now() - t0) / 1000;
    if (decoded !== entries) throw new Error(`replay bench: decoded ${decoded} entries, wrote ${entries}`);

    t0 = performance.now();
    const stateMachine = new KvStateMachine();
    const result = await replay({ store, stateMachine, compression: plan.compression });
    const replaySeconds = (performance.now() - t0) / 1000;
    // replay() ends with the state hash (sort every key, hash it all): timed again
    // alone, so the report can say how much of the replay it is.
    t0 = performance.now();
    stateMachine.hash();
    const stateHashSeconds = (performance.now() - t0) / 1000;
    if (result.replayedEntries !== entries)
      throw new Error(`replay bench: replayed ${result.replayedEntries} entries, wrote ${entries}`);
    const replayEntriesPerS = entries / replaySeconds;
    const decodeOnlyEntriesPerS = entries / decodeSeconds;
    const rawReadEntriesPerS = entries / rawReadSeconds;
    return {
      store: 'file',
      entries,
      valueBytes: FIXED_VALUE_BYTES,
      logBytes,
      openSeconds,
      replaySeconds,
      stateHashSeconds,
      replayEntriesPerS,
      decodeOnlyEntriesPerS,
      rawReadEntriesPerS,
      replayOverDecodeOnly: ratio(replayEntriesPerS, decodeOnlyEntriesPerS),
      replayOverRawRead: ratio(replayEntriesPerS, rawReadEntriesPerS),
    };
  } finally {
    await store.close();
  }
}
