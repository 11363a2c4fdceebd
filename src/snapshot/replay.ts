/**
 * Replay into a fresh node (DESIGN.md "Snapshots and replay"): restore the latest
 * usable snapshot, then apply the log from its lastSeq + 1 up to the head, or up to a
 * seq, or up to a time (point-in-time restore: every entry whose primary timestamp is
 * at or before it). Strict, unlike a standby: the stored log must continue the
 * snapshot exactly — a missing seq is a CorruptStoreError naming it, a lower epoch
 * above a higher one an IntegrityError — because a replay has no other copy to wait for.
 */
import type { Compression } from '../core/compression.js';
import { CorruptStoreError, IntegrityError, InvalidInputError } from '../core/errors.js';
import { decodeRecord } from '../core/record-codec.js';
import { seq as toSeq } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';
import { restoreSnapshot, type FileSnapshotStore, type SnapshotManifest } from './snapshot-store.js';
import type { StateMachine } from './state-machine.js';

export interface ReplayOptions {
  readonly store: LogStore;
  readonly stateMachine: StateMachine;
  readonly compression: Compression;
  /** Where to look for a snapshot; none: replay from seq 1. */
  readonly snapshots?: FileSnapshotStore;
  /** Stop after this seq. */
  readonly toSeq?: bigint;
  /** Stop before the first entry stamped after this time (ms since the Unix epoch). */
  readonly toTimeMs?: number;
}

export interface ReplayResult {
  readonly snapshot: SnapshotManifest | undefined;
  readonly appliedSeq: bigint;
  readonly appliedEpoch: bigint;
  /** Entries applied from the log (after the snapshot). */
  readonly replayedEntries: number;
  readonly headSeq: bigint;
  /** Why it stopped: the log's head, the seq bound, or the time bound. */
  readonly stoppedAt: 'head' | 'seq' | 'time';
  readonly hash: bigint;
}

export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const { store, stateMachine, compression, toSeq: seqBound, toTimeMs } = options;
  if (seqBound !== undefined && seqBound < 0n) throw new InvalidInputError('toSeq', 'must be ≥ 0');
  if (toTimeMs !== undefined && !Number.isFinite(toTimeMs))
    throw new InvalidInputError('toTime', 'not a time');
  const headSeq = (await store.head()).lastSeq;
  const snapshot = await pickSnapshot(options.snapshots, seqBound, toTimeMs);
  let appliedSeq = 0n;
  let appliedEpoch = 0n;
  if (snapshot !== undefined) {
    restoreSnapshot(stateMachine, await options.snapshots!.load(snapshot));
    appliedSeq = snapshot.lastSeq;
    appliedEpoch = snapshot.epoch;
    if (appliedSeq > headSeq)
      throw new IntegrityError(appliedSeq, `the snapshot is ahead of the log, whose head is seq ${headSeq}`);
  }
  const limit = seqBound !== undefined && seqBound < headSeq ? seqBound : headSeq;
  let replayedEntries = 0;
  let stoppedAt: ReplayResult['stoppedAt'] = seqBound !== undefined && seqBound < headSeq ? 'seq' : 'head';
  if (appliedSeq < limit) {
    outer: for await (const record of store.read(toSeq(appliedSeq + 1n))) {
      for (const entry of decodeRecord(record.bytes, compression).entries) {
        if (entry.seq <= appliedSeq) continue;
        if (entry.seq > limit) break outer;
        if (entry.seq !== appliedSeq + 1n)
          throw new CorruptStoreError(
            store.kind,
            appliedSeq + 1n,
            `the log skips from seq ${appliedSeq} to ${entry.seq}`,
          );
        if (entry.epoch < appliedEpoch)
          throw new IntegrityError(
            entry.seq,
            `epoch ${entry.epoch} after epoch ${appliedEpoch}: a fenced writer's entry`,
          );
        if (toTimeMs !== undefined && entry.ts > toTimeMs) {
          stoppedAt = 'time';
          break outer;
        }
        stateMachine.apply(entry);
        appliedSeq = entry.seq;
        appliedEpoch = entry.epoch;
        replayedEntries++;
      }
      if (appliedSeq >= limit) break;
    }
    if (stoppedAt !== 'time' && appliedSeq < limit)
      throw new CorruptStoreError(
        store.kind,
        appliedSeq + 1n,
        `the log ends at seq ${appliedSeq}, its head says ${limit}`,
      );
  }
  return {
    snapshot,
    appliedSeq,
    appliedEpoch,
    replayedEntries,
    headSeq,
    stoppedAt,
    hash: stateMachine.hash(),
  };
}

/** The newest snapshot at or below the bounds; undefined when none fits. */
async function pickSnapshot(
  snapshots: FileSnapshotStore | undefined,
  seqBound: bigint | undefined,
  toTimeMs: number | undefined,
): Promise<SnapshotManifest | undefined> {
  if (snapshots === undefined) return undefined;
  const fitting = (await snapshots.list()).filter(
    (m) =>
      (seqBound === undefined || m.lastSeq <= seqBound) &&
      (toTimeMs === undefined || m.lastEntryTs <= toTimeMs),
  );
  return fitting.at(-1);
}
