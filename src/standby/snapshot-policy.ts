/**
 * The standby's own snapshot schedule (StandbyOptions.snapshotPolicy), split out of
 * standby.ts: one snapshot every `everyEntries` applied entries, one at a time, then a
 * prune to the newest `keep`.
 *
 * A threshold crossed while the previous attempt (its save or its prune) is still in
 * flight is not forgotten: when an attempt ends, the schedule looks again at once.
 * Looking only on the next apply left a due snapshot untaken for as long as the log
 * stayed idle (test/snapshot/policy.test.ts, 4 runs in 10). A failed attempt counts
 * as a try: the next one is due `everyEntries` later, so a broken sink is not hammered.
 */
import type { Seq } from '../core/types.js';
import type { SnapshotInput, SnapshotManifest } from '../snapshot/snapshot-store.js';

/** Where takeSnapshot() puts a snapshot (FileSnapshotStore, or anything with save). */
export interface SnapshotSink {
  save(input: SnapshotInput): Promise<SnapshotManifest>;
}

export interface SnapshotPolicy {
  readonly sink: SnapshotSink & { prune?(keep: number): Promise<void> };
  readonly everyEntries: number;
  readonly keep?: number;
}

/** Snapshots kept after a prune when the policy names no `keep`. */
export const DEFAULT_SNAPSHOT_KEEP = 2;

export interface SnapshotHost {
  readonly appliedSeq: Seq;
  /** lastSeq of the newest snapshot taken or installed. */
  readonly snapshotSeq: bigint;
  /** False while divergent, installing, or not following/writing. */
  canSnapshot(): boolean;
  take(sink: SnapshotSink): Promise<SnapshotManifest>;
  taken(manifest: SnapshotManifest): void;
  failed(error: unknown): void;
}

export class SnapshotSchedule {
  private running = false;
  /** appliedSeq when the schedule last tried: the next try is `everyEntries` later, success or not. */
  private triedSeq = 0n;

  constructor(
    private readonly policy: SnapshotPolicy,
    private readonly host: SnapshotHost,
  ) {}

  /** Starts a snapshot when one is due and none is running. */
  maybeSnapshot(): void {
    if (this.running || !this.host.canSnapshot()) return;
    const since = this.triedSeq > this.host.snapshotSeq ? this.triedSeq : this.host.snapshotSeq;
    if (this.host.appliedSeq - since < BigInt(this.policy.everyEntries)) return;
    this.running = true;
    this.triedSeq = this.host.appliedSeq;
    const { sink } = this.policy;
    this.host
      .take(sink)
      .then(async (manifest) => {
        await sink.prune?.(this.policy.keep ?? DEFAULT_SNAPSHOT_KEEP);
        this.host.taken(manifest);
      })
      .catch((error: unknown) => this.host.failed(error))
      .finally(() => {
        this.running = false;
        this.maybeSnapshot();
      });
  }
}
