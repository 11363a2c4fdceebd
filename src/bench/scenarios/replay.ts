/**
 * Replay into a fresh node: a log of N entries (512-byte values, written by the
 * PrimaryWriter with its default limits) is opened as a fresh node opens it and
 * replayed into an empty KvStateMachine (src/snapshot/replay.ts, no snapshot).
 *
 * From the file store (always): the log is opened as a reader. Baselines on the same
 * log in the same run: reading, verifying and decoding every record with nothing
 * applied, and reading the segment files' bytes. The log was just written, so all three
 * read from the page cache: this is the CPU cost of a replay, not the disk's.
 *
 * From each networked store given (etcd, Kafka; replay-networked.ts), after the file
 * case of the same length: the same log written there under a cluster of its own, then
 * read back through a fresh store client. etcd+kafka is a write setup, not a replay
 * source (a fresh node replays from one store), so it has no replay rows.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileLogStore } from '../../stores/file/file-store.js';
import { FIXED_VALUE_BYTES, type BenchPlan } from '../plan.js';
import { ratio, type ReplayRow } from '../results.js';
import { fileDirOf } from '../targets.js';
import { Workload } from '../workload.js';
import { networkedReplayCase } from './replay-networked.js';
import { timePasses, writeLog } from './replay-passes.js';

/**
 * Every replay case, shortest log first: the file store's, then each networked store's
 * at the same length. A networked case that cannot run (a size over a server's limit)
 * is left out with a line in `notes`, never silently.
 */
export async function replayScenario(plan: BenchPlan, notes: string[] = []): Promise<ReplayRow[]> {
  const rows: ReplayRow[] = [];
  const workload = new Workload(FIXED_VALUE_BYTES);
  const networked = plan.setups.filter((s) => s.name === 'etcd' || s.name === 'kafka');
  for (const entries of [...plan.replayEntries].sort((a, b) => a - b)) {
    const fileRow = await fileCase(plan, entries, workload);
    rows.push(fileRow);
    plan.progress(
      `replay ${entries} entries: ${Math.round(fileRow.replayEntriesPerS)}/s (decode only ${Math.round(fileRow.decodeOnlyEntriesPerS)}/s, open ${fileRow.openSeconds.toFixed(2)} s)`,
    );
    for (const setup of networked) {
      const outcome = await networkedReplayCase(plan, setup, { entries, workload, fileRow });
      if ('note' in outcome) {
        notes.push(outcome.note);
        plan.progress(outcome.note);
        continue;
      }
      const row = outcome.row;
      rows.push(row);
      plan.progress(
        `replay ${setup.name} ${entries} entries: ${Math.round(row.replayEntriesPerS)}/s (decode only ${Math.round(row.decodeOnlyEntriesPerS)}/s, ${row.replayOverFile!.toFixed(2)} of the file store's)`,
      );
    }
  }
  return rows;
}

async function fileCase(plan: BenchPlan, entries: number, workload: Workload): Promise<ReplayRow> {
  const fileSetup = plan.setups.find((s) => fileDirOf(s) !== undefined);
  const parent = (fileSetup === undefined ? undefined : fileDirOf(fileSetup)) ?? plan.workDir;
  const dataDir = mkdtempSync(join(parent, 'oplog-bench-replay-'));
  const clusterId = plan.ids.take(`replay-${entries}`);
  try {
    const store = await FileLogStore.open({ dataDir, clusterId });
    try {
      await writeLog(plan, [store], entries, workload);
    } finally {
      await store.close();
    }
    return await measure(plan, dataDir, clusterId, entries);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
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
    const { decodeSeconds, replaySeconds, stateHashSeconds } = await timePasses(plan, store, entries);
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
