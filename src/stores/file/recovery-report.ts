/**
 * What the file store's recovery found, as a value (for `oplog verify`, `inspect` and
 * `replay`) and as one line of text (the warning a writer logs when it cuts a tail),
 * and the cut log `<dir>/cuts.log`: one JSON line per torn tail a writer cut, written
 * and fsynced before the cut, so a reader opened later (`oplog verify`) still sees it.
 */
import { appendFile, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from '../durable-fs.js';
import type { RecordCheck } from './segment-scan.js';
import type { RecoveryPoint } from './recovery-point.js';
import type { TornTail } from './segment-set.js';

/** A torn tail a writer cut at some earlier open, as recorded in `<dir>/cuts.log`. */
export interface CutRecord extends TornTail {
  /** When the writer cut it (ISO 8601, the writer's wall clock). */
  readonly atIso: string;
  /** The recovery point's seq then; undefined for a log that had no mark. */
  readonly recoveryPointSeq: bigint | undefined;
}

/** What opening the store (or, for a reader, its latest refresh) found. */
export interface FileRecoveryReport {
  /** The mark read from disk; undefined when there was none (a new log, or one written before marks). */
  readonly recoveryPoint: RecoveryPoint | undefined;
  /** One slot of the mark file failed its checks (a torn mark write) and the older slot was used. */
  readonly recoveryPointTornSlot: boolean;
  /** Bad bytes past the recovery point: cut by a writer, left by a reader. Undefined when clean. */
  readonly tornTail: TornTail | undefined;
  /** Every torn tail cut by a writer's open so far, oldest first (this open's included). */
  readonly cuts: readonly CutRecord[];
}

export const CLEAN_REPORT: FileRecoveryReport = {
  recoveryPoint: undefined,
  recoveryPointTornSlot: false,
  tornTail: undefined,
  cuts: [],
};

/** Appends one line for `tail` to the cut log and fsyncs it: before the bytes are cut. */
export async function recordCut(path: string, tail: TornTail, recoveryPoint: RecoveryPoint | undefined) {
  const line = JSON.stringify({
    atIso: new Date().toISOString(),
    recoveryPointSeq: recoveryPoint?.lastSeq.toString() ?? null,
    check: tail.check,
    fromSeq: tail.fromSeq.toString(),
    toSeq: tail.toSeq.toString(),
    ranges: tail.ranges,
  });
  await appendFile(path, `${line}\n`);
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  // The first cut creates the file: its directory entry must survive a power loss too.
  await fsyncDir(dirname(path));
}

/** The cut log's records; a line that does not parse (torn by a crash) is skipped. */
export async function readCuts(path: string): Promise<CutRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const cuts: CutRecord[] = [];
  for (const line of text.split('\n')) {
    try {
      const raw = JSON.parse(line) as Record<string, unknown>;
      cuts.push({
        action: 'cut',
        atIso: String(raw['atIso']),
        recoveryPointSeq:
          raw['recoveryPointSeq'] === null ? undefined : BigInt(String(raw['recoveryPointSeq'])),
        check: String(raw['check']) as RecordCheck,
        fromSeq: BigInt(String(raw['fromSeq'])),
        toSeq: BigInt(String(raw['toSeq'])),
        ranges: raw['ranges'] as CutRecord['ranges'],
      });
    } catch {
      // An empty or torn line.
    }
  }
  return cuts;
}

/**
 * One line naming the torn tail's byte ranges, the seqs they held, the failed check and
 * where the recovery point was, e.g. `cut a torn tail past the recovery point (seq 12):
 * bytes 1003..1290 of …/00000000000000000001.seg, seqs 13..15 (body-checksum check failed)`.
 */
export function describeTornTail(
  tail: TornTail,
  recoveryPoint: Pick<RecoveryPoint, 'lastSeq'> | undefined,
): string {
  const ranges = tail.ranges.map((r) => `bytes ${r.fromOffset}..${r.toOffset} of ${r.path}`).join(', ');
  const seqs = tail.fromSeq === tail.toSeq ? `seq ${tail.fromSeq}` : `seqs ${tail.fromSeq}..${tail.toSeq}`;
  const where =
    recoveryPoint === undefined
      ? 'with no recovery point (a log written before marks: these bytes may have been acknowledged)'
      : `past the recovery point (seq ${recoveryPoint.lastSeq}: never acknowledged by this store)`;
  const verb = tail.action === 'cut' ? 'cut a torn tail' : 'torn tail present (left in place by a reader)';
  return `${verb} ${where}: ${ranges}, ${seqs} (${tail.check} check failed)`;
}
