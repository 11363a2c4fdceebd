/**
 * The file store's segments and their recovery. `segments/` holds records back to back,
 * one file per ~segmentBytesMax, named by the first seq it holds. Opening (and, for a
 * reader, every refresh) scans what is new against the recovery point
 * (./recovery-point.ts):
 *
 * - damage at or below the recovery point is corruption: {@link CorruptStoreError}
 *   naming the file, the offset, the seq and the check that failed; nothing is cut;
 * - bad bytes past it are a torn tail (they were never acknowledged: the mark is
 *   written after the group's fdatasync and before its acks). A writer cuts them,
 *   with every later segment file, and reports the byte ranges and the seqs they held;
 *   a reader leaves them and reports them (a write may still be completing them);
 * - a log with no recovery point (written before marks existed, or whose mark file was
 *   removed) gets the old rule: a bad record with a valid one after it, or in a segment
 *   that is not the last, is corruption; a bad last record is a torn tail.
 *
 * Over 350 lines because the recovery scan's rules (what is refused, what is cut, what a
 * reader leaves) and the segment list they act on are one decision, kept in one place.
 */
import { open, readdir, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptStoreError, StoreUnavailableError } from '../../core/errors.js';
import type { BatchRecord } from '../../core/record-codec.js';
import { fsyncDir } from '../durable-fs.js';
import type { RecoveryPoint } from './recovery-point.js';
import {
  failedCheck,
  highestClaimedSeq,
  scanSegment,
  validRecordAfter,
  type RecordCheck,
  type ScanItem,
} from './segment-scan.js';

export interface Segment {
  readonly firstSeq: bigint;
  readonly path: string;
  /** End of the verified records; in the writer's last segment it may run ahead of the commit. */
  endOffset: number;
  /** firstSeq − 1 while empty. */
  lastSeq: bigint;
  lastEpoch: bigint;
  /** Sparse, ascending: a record starting at `seq` sits at `offset`. */
  readonly index: { readonly seq: bigint; readonly offset: number }[];
  lastIndexedOffset: number;
}

/** One file's share of a torn tail: bytes `[fromOffset, toOffset)` of `path`. */
export interface ByteRange {
  readonly path: string;
  readonly fromOffset: number;
  readonly toOffset: number;
}

/** Bytes past the recovery point that are not valid records. */
export interface TornTail {
  /** `cut`: a writer removed them at open. `present`: a reader saw them and left them. */
  readonly action: 'cut' | 'present';
  /** The check the first bad record failed. */
  readonly check: RecordCheck;
  /** In log order; the first range starts at the bad record. Later ranges are whole files. */
  readonly ranges: readonly ByteRange[];
  /** The first seq the bytes held (or would have held): the kept log's last seq + 1. */
  readonly fromSeq: bigint;
  /** The highest seq an intact header in the bytes claims; `fromSeq` when none does. */
  readonly toSeq: bigint;
}

export type SegmentMode = 'writer' | 'reader';

const SEGMENT_NAME = /^(\d{20})\.seg$/;

export class SegmentSet {
  private readonly segments: Segment[] = [];

  /**
   * @param beforeCut runs before a writer cuts a torn tail, with what it is about to
   *   cut (the store records it durably there, so a later `verify` still sees the cut).
   */
  constructor(
    readonly dir: string,
    private readonly indexIntervalBytes: number,
    private readonly beforeCut: (tail: TornTail) => Promise<void> = async () => undefined,
  ) {}

  get list(): readonly Segment[] {
    return this.segments;
  }

  last(): Segment | undefined {
    return this.segments.at(-1);
  }

  /** Starts a new (empty) segment at `firstSeq` after the last one. */
  push(firstSeq: bigint): Segment {
    const segment = newSegment(this.dir, firstSeq);
    this.segments.push(segment);
    return segment;
  }

  /**
   * Brings the list up to date with the directory and scans what is new against
   * `mark` (undefined: the log has none). Returns the torn tail, if any: cut when
   * `mode` is `writer`, left in place for a reader. Throws CorruptStoreError for damage.
   */
  async refresh(mode: SegmentMode, mark: RecoveryPoint | undefined): Promise<TornTail | undefined> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw new StoreUnavailableError('file list segments', { dir: this.dir }, { cause: error });
    });
    const firstSeqs = names
      .map((name) => SEGMENT_NAME.exec(name)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(BigInt)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const known = new Map(this.segments.map((s) => [s.firstSeq, s]));
    this.segments.length = 0;
    for (const firstSeq of firstSeqs)
      this.segments.push(known.get(firstSeq) ?? newSegment(this.dir, firstSeq));
    let tail: TornTail | undefined;
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const previous = this.segments[i - 1];
      if (previous !== undefined && segment.firstSeq !== previous.lastSeq + 1n)
        throw new CorruptStoreError(
          segment.path,
          previous.lastSeq + 1n,
          `segment starts at ${segment.firstSeq}`,
          {
            path: segment.path,
            offset: 0,
            check: 'seq-order',
          },
        );
      tail = await this.scanNew(segment, i, mark, mode);
      if (tail !== undefined) {
        this.segments.length = i + 1;
        break;
      }
    }
    this.checkMarkSegment(mode, mark);
    if (mode === 'writer') await this.maybeDropEmptyLast();
    return tail;
  }

  /**
   * Retention: removes whole segments entirely below `seq`, never the last one (which
   * holds the head and the recovery point).
   */
  async removeBelow(seq: bigint): Promise<void> {
    let removed = 0;
    while (this.segments.length - removed > 1 && this.segments[removed]!.lastSeq < seq) {
      await unlink(this.segments[removed]!.path);
      removed++;
    }
    if (removed === 0) return;
    this.segments.splice(0, removed);
    await fsyncDir(this.dir);
  }

  /** The segment whose seqs include `seq` (largest firstSeq ≤ seq). */
  segmentFor(seq: bigint): Segment | undefined {
    let low = 0;
    let high = this.segments.length - 1;
    let found: Segment | undefined;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const segment = this.segments[mid]!;
      if (segment.firstSeq <= seq) {
        found = segment;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found;
  }

  noteRecord(segment: Segment, offset: number, record: BatchRecord): void {
    if (segment.index.length === 0 || offset - segment.lastIndexedOffset >= this.indexIntervalBytes) {
      segment.index.push({ seq: record.firstSeq, offset });
      segment.lastIndexedOffset = offset;
    }
    segment.endOffset = offset + record.bytes.length;
    segment.lastSeq = record.lastSeq;
    segment.lastEpoch = record.epoch;
  }

  /**
   * Scans `segment` from its verified end to the file's end. Returns the torn tail
   * when it stopped at a bad record past the mark (cut when `mode` is writer).
   */
  private async scanNew(
    segment: Segment,
    index: number,
    mark: RecoveryPoint | undefined,
    mode: SegmentMode,
  ): Promise<TornTail | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(segment.path, 'r');
    } catch (cause) {
      // Removed by retention under a reader: the next refresh no longer lists it.
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StoreUnavailableError('file open segment', { path: segment.path }, { cause });
    }
    try {
      const size = (await fh.stat()).size;
      for await (const item of scanSegment(fh, segment.endOffset, size)) {
        if (item.kind === 'record') {
          this.checkRecord(segment, item.offset, item.record, mark);
          this.noteRecord(segment, item.offset, item.record);
          continue;
        }
        await this.checkTail(fh, segment, index, item, size, mark);
        return await this.tornTail(fh, segment, index, item, size, mode);
      }
      if (
        mark !== undefined &&
        segment.firstSeq === mark.segmentFirstSeq &&
        segment.endOffset < mark.endOffset
      )
        throw new CorruptStoreError(
          `${segment.path}@${segment.endOffset}`,
          segment.lastSeq + 1n,
          `segment ends at byte ${segment.endOffset}, below the recovery point (byte ${mark.endOffset}, seq ${mark.lastSeq}): synced records are missing`,
          { path: segment.path, offset: segment.endOffset, check: 'recovery-point' },
        );
      return undefined;
    } finally {
      await fh.close();
    }
  }

  /** A valid record must continue the seqs, and the mark must fall on a record boundary. */
  private checkRecord(
    segment: Segment,
    offset: number,
    record: BatchRecord,
    mark: RecoveryPoint | undefined,
  ) {
    const where = `${segment.path}@${offset}`;
    if (record.firstSeq !== segment.lastSeq + 1n)
      throw new CorruptStoreError(where, segment.lastSeq + 1n, `found seq ${record.firstSeq}`, {
        path: segment.path,
        offset,
        check: 'seq-order',
      });
    if (mark === undefined || segment.firstSeq !== mark.segmentFirstSeq) return;
    const end = offset + record.bytes.length;
    const straddles = offset < mark.endOffset && end > mark.endOffset;
    if (straddles || (end === mark.endOffset && record.lastSeq !== mark.lastSeq))
      throw new CorruptStoreError(
        where,
        record.firstSeq,
        `the recovery point (byte ${mark.endOffset}, seq ${mark.lastSeq}) does not match the record at bytes ${offset}..${end} (seqs ${record.firstSeq}..${record.lastSeq})`,
        { path: segment.path, offset, check: 'recovery-point' },
      );
  }

  /** Throws when the bad record at `item.offset` is damage rather than a torn tail. */
  private async checkTail(
    fh: FileHandle,
    segment: Segment,
    index: number,
    item: Exclude<ScanItem, { kind: 'record' }>,
    size: number,
    mark: RecoveryPoint | undefined,
  ): Promise<void> {
    const check = failedCheck(item);
    const options = {
      path: segment.path,
      offset: item.offset,
      check,
      cause: item.kind === 'invalid' ? item.error : undefined,
    };
    const where = `${segment.path}@${item.offset}`;
    const seq = segment.lastSeq + 1n;
    if (mark !== undefined) {
      const below =
        segment.firstSeq < mark.segmentFirstSeq ||
        (segment.firstSeq === mark.segmentFirstSeq && item.offset < mark.endOffset);
      if (below)
        throw new CorruptStoreError(
          where,
          seq,
          `${check} check failed at or below the recovery point (byte ${mark.endOffset} of segment ${mark.segmentFirstSeq}, seq ${mark.lastSeq}): the record was synced`,
          options,
        );
      return;
    }
    // No mark: the rule from before recovery points.
    const isLast = index === this.segments.length - 1;
    const laterRecord = await validRecordAfter(fh, item.offset, size);
    if (!isLast || laterRecord !== undefined)
      throw new CorruptStoreError(
        where,
        seq,
        `${check} check failed ${laterRecord === undefined ? 'before the next segment' : `before a valid record at offset ${laterRecord}`}`,
        options,
      );
  }

  /** Describes the tail from `item.offset` on (this file and every later one), and cuts it for a writer. */
  private async tornTail(
    fh: FileHandle,
    segment: Segment,
    index: number,
    item: Exclude<ScanItem, { kind: 'record' }>,
    size: number,
    mode: SegmentMode,
  ): Promise<TornTail> {
    const ranges: ByteRange[] = [{ path: segment.path, fromOffset: item.offset, toOffset: size }];
    let toSeq = await highestClaimedSeq(fh, item.offset, size);
    const later = this.segments.slice(index + 1);
    for (const other of later) {
      const claimed = await fileClaims(other.path);
      ranges.push({ path: other.path, fromOffset: 0, toOffset: claimed.size });
      if (claimed.seq !== undefined && (toSeq === undefined || claimed.seq > toSeq)) toSeq = claimed.seq;
    }
    const fromSeq = segment.lastSeq + 1n;
    const tail: TornTail = {
      action: mode === 'writer' ? 'cut' : 'present',
      check: failedCheck(item),
      ranges,
      fromSeq,
      toSeq: toSeq !== undefined && toSeq > fromSeq ? toSeq : fromSeq,
    };
    if (mode === 'writer') {
      await this.beforeCut(tail);
      await truncate(segment.path, item.offset);
      const rw = await open(segment.path, 'r+');
      await rw.datasync();
      await rw.close();
      for (const other of later) await unlink(other.path);
      if (later.length > 0) await fsyncDir(this.dir);
    }
    return tail;
  }

  /** The mark's own segment must exist, unless (for a reader) retention just removed it. */
  private checkMarkSegment(mode: SegmentMode, mark: RecoveryPoint | undefined): void {
    if (mode === 'reader' || mark === undefined || mark.segmentFirstSeq === 0n) return;
    if (this.segments.some((s) => s.firstSeq === mark.segmentFirstSeq)) return;
    throw new CorruptStoreError(
      this.dir,
      mark.lastSeq,
      `the recovery point names segment ${mark.segmentFirstSeq} (synced up to seq ${mark.lastSeq}), which is missing`,
      { path: this.dir, check: 'recovery-point' },
    );
  }

  /** A segment file created just before a crash may hold no record: remove it. */
  private async maybeDropEmptyLast(): Promise<void> {
    const last = this.segments.at(-1);
    if (last === undefined || last.endOffset > 0) return;
    await unlink(last.path);
    await fsyncDir(this.dir);
    this.segments.pop();
  }
}

export function newSegment(dir: string, firstSeq: bigint): Segment {
  return {
    firstSeq,
    path: join(dir, `${firstSeq.toString().padStart(20, '0')}.seg`),
    endOffset: 0,
    lastSeq: firstSeq - 1n,
    lastEpoch: 0n,
    index: [],
    lastIndexedOffset: 0,
  };
}

/** Offset of the last sparse index point at or before `seq`. */
export function indexOffset(segment: Segment, seq: bigint): number {
  let offset = 0;
  for (const point of segment.index) {
    if (point.seq > seq) break;
    offset = point.offset;
  }
  return offset;
}

async function fileClaims(path: string): Promise<{ size: number; seq: bigint | undefined }> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    return { size, seq: await highestClaimedSeq(fh, 0, size) };
  } finally {
    await fh.close();
  }
}
