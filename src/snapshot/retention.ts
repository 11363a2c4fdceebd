/**
 * Retention that keeps every node rebuildable (DESIGN.md: `truncateBefore` never above
 * the latest snapshot's seq): each store drops the records that end before the newest
 * snapshot's lastSeq, minus `keepEntries` more for standbys that are a little behind
 * (they catch up from the log instead of installing a snapshot).
 */
import { ConfigError, OplogError } from '../core/errors.js';
import { seq as toSeq } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';
import type { SnapshotStore } from './snapshot-store.js';

/**
 * Returns the seq every store now starts at or before, or undefined without a usable
 * snapshot. Only a snapshot that loads (its body matches its manifest) counts: trimming
 * the log below a damaged one would leave nothing to rebuild a node from.
 */
export async function truncateToSnapshot(
  stores: readonly LogStore[],
  snapshots: SnapshotStore,
  { keepEntries = 0 }: { keepEntries?: number } = {},
): Promise<bigint | undefined> {
  if (!Number.isSafeInteger(keepEntries) || keepEntries < 0)
    throw new ConfigError('keepEntries', keepEntries, 'must be an integer ≥ 0');
  const usable = await newestUsable(snapshots);
  if (usable === undefined) return undefined;
  const before = usable - BigInt(keepEntries);
  if (before <= 1n) return 1n;
  for (const store of stores) await store.truncateBefore(toSeq(before));
  return before;
}

/** lastSeq of the newest snapshot whose body loads and matches its manifest. */
async function newestUsable(snapshots: SnapshotStore): Promise<bigint | undefined> {
  const { manifests } = await snapshots.scan();
  for (const manifest of [...manifests].reverse()) {
    try {
      await snapshots.load(manifest);
      return manifest.lastSeq;
    } catch (error) {
      if (!(error instanceof OplogError)) throw error;
    }
  }
  return undefined;
}
