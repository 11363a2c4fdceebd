/**
 * Retention that keeps every node rebuildable (DESIGN.md: `truncateBefore` never above
 * the latest snapshot's seq): each store drops the records that end before the newest
 * snapshot's lastSeq, minus `keepEntries` more for standbys that are a little behind
 * (they catch up from the log instead of installing a snapshot).
 */
import { ConfigError } from '../core/errors.js';
import { seq as toSeq } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';
import type { FileSnapshotStore } from './snapshot-store.js';

/** Returns the seq every store now starts at or before, or undefined without a snapshot. */
export async function truncateToSnapshot(
  stores: readonly LogStore[],
  snapshots: FileSnapshotStore,
  { keepEntries = 0 }: { keepEntries?: number } = {},
): Promise<bigint | undefined> {
  if (!Number.isSafeInteger(keepEntries) || keepEntries < 0)
    throw new ConfigError('keepEntries', keepEntries, 'must be an integer ≥ 0');
  const latest = await snapshots.latest();
  if (latest === undefined) return undefined;
  const before = latest.lastSeq - BigInt(keepEntries);
  if (before <= 1n) return 1n;
  for (const store of stores) await store.truncateBefore(toSeq(before));
  return before;
}
