/**
 * Replay into a fresh node (DESIGN.md "Snapshots and replay"): restore the newest
 * usable snapshot, then apply the log from its lastSeq + 1 up to the head, or up to a
 * seq, or up to a time (point-in-time restore: every entry whose primary timestamp is
 * at or before it). Strict, unlike a standby: the stored log must continue the
 * snapshot exactly — a missing seq is a CorruptStoreError naming it, a lower epoch
 * above a higher one an IntegrityError — because a replay has no other copy to wait for.
 *
 * "Usable": a snapshot whose manifest parses, whose body has the manifest's size and
 * checksum, and whose restored state has the manifest's hash. A damaged one is passed
 * over for the one before it and reported in {@link ReplayResult.refusedSnapshots};
 * with none usable the replay starts at seq 1, which only works while the log still
 * starts there (else a ReplayTruncatedError names what was tried and refused).
 */
import type { Compression } from '../core/compression.js';
import {
  CorruptStoreError,
  IntegrityError,
  InvalidInputError,
  InvariantViolation,
  ReplayTruncatedError,
  TruncatedError,
} from '../core/errors.js';
import { decodeVerifiedRecord } from '../core/record-codec.js';
import { seq as toSeq } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';
import {
  describeError,
  restoreSnapshot,
  type SnapshotStore,
  type RefusedSnapshot,
  type SnapshotManifest,
} from './snapshot-store.js';
import type { StateImage, StateMachine } from './state-machine.js';

export interface ReplayOptions {
  readonly store: LogStore;
  readonly stateMachine: StateMachine;
  readonly compression: Compression;
  /** Where to look for a snapshot; none: replay from seq 1. */
  readonly snapshots?: SnapshotStore;
  /** Stop after this seq; past the log's head it is an InvalidInputError. */
  readonly toSeq?: bigint;
  /** Stop before the first entry stamped after this time (ms since the Unix epoch). */
  readonly toTimeMs?: number;
}

export interface ReplayResult {
  readonly snapshot: SnapshotManifest | undefined;
  /** Newer snapshots within the bounds that were passed over, newest first, and why. */
  readonly refusedSnapshots: readonly RefusedSnapshot[];
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
  const { store, stateMachine, toSeq: seqBound, toTimeMs } = options;
  if (seqBound !== undefined && seqBound < 0n) throw new InvalidInputError('toSeq', 'must be ≥ 0');
  if (toTimeMs !== undefined && !Number.isFinite(toTimeMs))
    throw new InvalidInputError('toTime', 'not a time');
  const headSeq = (await store.head()).lastSeq;
  if (seqBound !== undefined && seqBound > headSeq)
    throw new InvalidInputError('toSeq', `seq ${seqBound} is past the log's head, seq ${headSeq}`);
  const { snapshot, refused } = await restoreNewestUsable(options, headSeq);
  const limit = seqBound ?? headSeq;
  let appliedSeq = snapshot?.lastSeq ?? 0n;
  let appliedEpoch = snapshot?.epoch ?? 0n;
  let replayedEntries = 0;
  let stoppedAt: ReplayResult['stoppedAt'] = seqBound === undefined ? 'head' : 'seq';
  try {
    outer: for await (const record of appliedSeq < limit ? store.read(toSeq(appliedSeq + 1n)) : []) {
      for (const entry of decodeVerifiedRecord(record, options.compression)) {
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
  } catch (error) {
    // Retention removed what the snapshot (or seq 1) needs: say which snapshot was
    // tried and which were refused, since a refused one is why this one was reached.
    if (error instanceof TruncatedError && replayedEntries === 0) {
      const tried =
        snapshot === undefined
          ? 'no usable snapshot'
          : `the newest usable snapshot is at seq ${snapshot.lastSeq}`;
      throw new ReplayTruncatedError(
        error.fromSeq,
        error.firstAvailableSeq,
        `${tried}${describeRefused(refused)}`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  if (stoppedAt !== 'time' && appliedSeq < limit)
    throw new CorruptStoreError(
      store.kind,
      appliedSeq + 1n,
      `the log ends at seq ${appliedSeq}, its head says ${limit}`,
    );
  return {
    snapshot,
    refusedSnapshots: refused,
    appliedSeq,
    appliedEpoch,
    replayedEntries,
    headSeq,
    stoppedAt,
    hash: stateMachine.hash(),
  };
}

/**
 * Restores the newest snapshot within the bounds that loads and restores to its
 * manifest's hash, passing over damaged ones (newest first). When none is usable the
 * state machine is put back as it was, so the replay starts from seq 1 on a clean state.
 */
async function restoreNewestUsable(
  options: ReplayOptions,
  headSeq: bigint,
): Promise<{ snapshot: SnapshotManifest | undefined; refused: RefusedSnapshot[] }> {
  const { snapshots, stateMachine, toSeq: seqBound, toTimeMs } = options;
  const refused: RefusedSnapshot[] = [];
  if (snapshots === undefined) return { snapshot: undefined, refused };
  const scan = await snapshots.scan();
  const inBound = (lastSeq: bigint) => seqBound === undefined || lastSeq <= seqBound;
  // A damaged manifest's time is unknown: it counts as fitting when its seq does.
  const candidates = [
    ...scan.manifests
      .filter((m) => inBound(m.lastSeq) && (toTimeMs === undefined || m.lastEntryTs <= toTimeMs))
      .map((manifest) => ({ lastSeq: manifest.lastSeq, manifest })),
    ...scan.refused
      .filter((r) => inBound(r.lastSeq))
      .map((refusal) => ({ lastSeq: refusal.lastSeq, refusal })),
  ].sort((a, b) => (a.lastSeq < b.lastSeq ? 1 : a.lastSeq > b.lastSeq ? -1 : 0));

  let before: StateImage | undefined;
  for (const candidate of candidates) {
    if ('refusal' in candidate) {
      refused.push(candidate.refusal);
      continue;
    }
    const manifest = candidate.manifest;
    // Not a damaged snapshot but a log that lost its tail (or another log): stop.
    if (manifest.lastSeq > headSeq)
      throw new IntegrityError(
        manifest.lastSeq,
        `the snapshot is ahead of the log, whose head is seq ${headSeq}`,
      );
    try {
      const loaded = await snapshots.load(manifest);
      before ??= stateMachine.snapshot();
      restoreSnapshot(stateMachine, loaded);
      return { snapshot: manifest, refused };
    } catch (error) {
      if (error instanceof InvariantViolation) throw error;
      refused.push({
        lastSeq: manifest.lastSeq,
        path: snapshots.describe(manifest.lastSeq),
        reason: describeError(error),
      });
    }
  }
  if (before !== undefined) stateMachine.restore(before.bytes);
  return { snapshot: undefined, refused };
}

function describeRefused(refused: readonly RefusedSnapshot[]): string {
  if (refused.length === 0) return '';
  return ` (refused: ${refused.map((r) => `seq ${r.lastSeq}: ${r.reason}`).join('; ')})`;
}
