/**
 * What the file store's recovery found, as a value (for `oplog verify`, `inspect` and
 * `replay`) and as one line of text (the warning a writer logs when it cuts a tail).
 */
import type { RecoveryPoint } from './recovery-point.js';
import type { TornTail } from './segment-set.js';

/** What opening the store (or, for a reader, its latest refresh) found. */
export interface FileRecoveryReport {
  /** The mark read from disk; undefined when there was none (a new log, or one written before marks). */
  readonly recoveryPoint: RecoveryPoint | undefined;
  /** One slot of the mark file failed its checks (a torn mark write) and the older slot was used. */
  readonly recoveryPointTornSlot: boolean;
  /** Bad bytes past the recovery point: cut by a writer, left by a reader. Undefined when clean. */
  readonly tornTail: TornTail | undefined;
}

export const CLEAN_REPORT: FileRecoveryReport = {
  recoveryPoint: undefined,
  recoveryPointTornSlot: false,
  tornTail: undefined,
};

/**
 * One line naming the torn tail's byte ranges, the seqs they held, the failed check and
 * where the recovery point was, e.g. `cut a torn tail past the recovery point (seq 12):
 * bytes 1003..1290 of …/00000000000000000001.seg, seqs 13..15 (body-checksum check failed)`.
 */
export function describeTornTail(tail: TornTail, recoveryPoint: RecoveryPoint | undefined): string {
  const ranges = tail.ranges.map((r) => `bytes ${r.fromOffset}..${r.toOffset} of ${r.path}`).join(', ');
  const seqs = tail.fromSeq === tail.toSeq ? `seq ${tail.fromSeq}` : `seqs ${tail.fromSeq}..${tail.toSeq}`;
  const where =
    recoveryPoint === undefined
      ? 'with no recovery point (a log written before marks: these bytes may have been acknowledged)'
      : `past the recovery point (seq ${recoveryPoint.lastSeq}: never acknowledged by this store)`;
  const verb = tail.action === 'cut' ? 'cut a torn tail' : 'torn tail present (left in place by a reader)';
  return `${verb} ${where}: ${ranges}, ${seqs} (${tail.check} check failed)`;
}
