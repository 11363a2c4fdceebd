/**
 * The growth scenario (issue 17, "how cost grows as work grows"): memory against
 * pending-buffer fill (pending-memory.ts), then snapshot and restore time against state
 * size (snapshot-growth.ts), smallest state first. Replay time against log length is
 * the replay scenario's rows, one per length and store. Memory comes first, while the
 * process holds the least: a large state's garbage must not sit under its figures.
 */
import type { BenchPlan } from '../plan.js';
import type { PendingMemoryRow, SnapshotRow } from '../results-growth.js';
import { pendingMemoryRows } from './pending-memory.js';
import { snapshotCase } from './snapshot-growth.js';

export interface GrowthRows {
  readonly snapshots: SnapshotRow[];
  readonly pendingMemory: PendingMemoryRow[];
}

export async function growthScenario(plan: BenchPlan): Promise<GrowthRows> {
  const pendingMemory = pendingMemoryRows(plan.compression);
  for (const row of pendingMemory)
    plan.progress(
      `growth pending ${Math.round(row.fillFraction * 100)}% (${row.pendingEntries} entries): ${(row.totalBytes / 1e6).toFixed(1)} MB held, applier estimate ${(row.pendingBytesEstimate / 1e6).toFixed(1)} MB`,
    );
  const snapshots: SnapshotRow[] = [];
  for (const keys of [...plan.snapshotKeys].sort((a, b) => a - b)) {
    const row = await snapshotCase(plan, keys);
    snapshots.push(row);
    plan.progress(
      `growth snapshot ${keys} keys: take ${row.takeSeconds.toFixed(2)} s (pause ${row.pauseSeconds.toFixed(2)} s), restore ${row.restoreSeconds.toFixed(2)} s, body ${(row.bodyBytes / 1e6).toFixed(1)} MB`,
    );
  }
  return { snapshots, pendingMemory };
}
