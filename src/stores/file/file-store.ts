/**
 * The embedded file LogStore (no server): `<dataDir>/<clusterId>/` holds `segments/`
 * (records back to back, one file per ~segmentBytesMax, named by its first seq; see
 * ./segment-set.ts), the `recovery-point` mark (./recovery-point.ts), an `epoch` file
 * and, while a writer is open, `writer.lock`.
 *
 * Durability: appends that arrive while a write is in progress are written together
 * and made durable by one fdatasync (group commit at the store); then the recovery
 * point is moved past them, and only then do their appends resolve (./segment-writer.ts,
 * on the shared ../append-queue.ts). So every acknowledged record is at or below the
 * mark, and anything past it was never acknowledged. Recovery on open verifies every
 * record: damage at or below the mark is a {@link CorruptStoreError} naming file,
 * offset, seq and check, and nothing is cut; bad bytes past it are a torn tail, cut by
 * a writer (with a warning naming the byte range and seqs) and left by a reader. Either
 * way {@link FileLogStore.recovery} says what was found, for `oplog verify`.
 *
 * Fencing on one host: only the holder of `writer.lock` appends (a second writer gets
 * LockedError; a dead holder's lock is taken over). The epoch file is re-read before
 * every group of appends, so a fence written by another process stops this writer at
 * its next group; a fence in this process is ordered with the appends.
 *
 * The segment list, recovery scan and retention are in ./segment-set.ts, the write side
 * in ./segment-writer.ts, the mark in ./recovery-point.ts, what recovery found in
 * ./recovery-report.ts. Over 350 lines (~370) because what stays here shares the
 * acknowledged head and the segment list: open with its recovery, reads bounded by that
 * head (or, for the writer's duplicate checks, by what is written), and tailing.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { validateClusterId } from '../../core/cluster-id.js';
import {
  ClosedError,
  CorruptStoreError,
  InvalidInputError,
  StoreUnavailableError,
  TruncatedError,
} from '../../core/errors.js';
import type { BatchRecord, VerifiedRecord } from '../../core/record-codec.js';
import { epoch as toEpoch, seq as toSeq, type Epoch, type Head, type Seq } from '../../core/types.js';
import type { LogStore, Subscription } from '../log-store.js';
import { Doorbell, tailSubscription } from '../tail-subscription.js';
import { EpochFile } from './epoch-file.js';
import { PidLock } from './pid-lock.js';
import { readRecoveryPoint, type RecoveryPoint } from './recovery-point.js';
import { scanSegment } from './segment-scan.js';
import {
  CLEAN_REPORT,
  describeTornTail,
  readCuts,
  recordCut,
  type FileRecoveryReport,
} from './recovery-report.js';
import { indexOffset, SegmentSet } from './segment-set.js';
import { SegmentWriter } from './segment-writer.js';

/** A file store's warning: the text, and the seqs it is about. */
export type FileStoreWarn = (
  message: string,
  seqs?: { readonly fromSeq: bigint; readonly toSeq: bigint },
) => void;

/** A segment is closed once it holds this many bytes, when the options name no size. */
export const DEFAULT_SEGMENT_BYTES_MAX = 64 * 1024 * 1024;

export interface FileStoreOptions {
  readonly dataDir: string;
  readonly clusterId: string;
  /** `writer` takes the lock, repairs a torn tail and may append; `reader` never modifies. */
  readonly mode?: 'writer' | 'reader';
  /** A segment is closed once it holds at least this many bytes. Default 64 MiB. */
  readonly segmentBytesMax?: number;
  /** One sparse index point at least every this many bytes. Default 1 MiB. */
  readonly indexIntervalBytes?: number;
  /** Subscribers re-check at least this often even without a file event. Default 100 ms. */
  readonly pollIntervalMs?: number;
  /**
   * `per-group` (default): the writer moves the recovery point after every group's
   * fdatasync, before acknowledging it. `off`: no mark at all (the writer removes the
   * file at open), which is the behaviour before recovery points — for benchmarks'
   * baselines only: a damaged last record is then cut as a torn tail.
   */
  readonly recoveryPoint?: 'per-group' | 'off';
  /**
   * Where warnings go (a torn tail cut, a log without a mark), with the seqs they are
   * about (a cut's first and last seq; a log without a mark: the seqs marked synced).
   * Default: console.warn.
   */
  readonly warn?: FileStoreWarn;
}

export { describeTornTail, type CutRecord, type FileRecoveryReport } from './recovery-report.js';
export type { RecoveryPoint } from './recovery-point.js';
export type { ByteRange, TornTail } from './segment-set.js';
export type { RecordCheck } from './segment-scan.js';

export class FileLogStore implements LogStore {
  readonly kind = 'file';
  private readonly segments: SegmentSet;
  /** The write side (./segment-writer.ts); undefined for a reader. */
  private writer: SegmentWriter | undefined;
  private report: FileRecoveryReport = CLEAN_REPORT;
  private readonly epoch: EpochFile;
  /** What readers may see: the last record made durable by this writer (or found by a reader). */
  private committed: { lastSeq: bigint; epoch: bigint } = { lastSeq: 0n, epoch: 0n };
  /** Where the last read stopped: the next record's seq and offset in its segment (readTo). */
  private resumeAt: { path: string; seq: bigint; offset: number } | undefined;
  /** close() was called: new appends, fences and truncations are refused. */
  private closing = false;
  private closed = false;
  private watcher: FSWatcher | undefined;
  /** Rings on every append here and every file event seen by the watcher. */
  private readonly doorbell: Doorbell;
  private readonly segmentDir: string;
  private readonly markPath: string;
  private readonly cutsPath: string;
  /** The mark a writer's open read; the cut log records it with each cut. */
  private openedMark: RecoveryPoint | undefined;
  private readonly warn: FileStoreWarn;

  private constructor(
    readonly dir: string,
    private readonly mode: 'writer' | 'reader',
    private readonly options: FileStoreOptions,
    private readonly lock: PidLock | undefined,
  ) {
    this.doorbell = new Doorbell(options.pollIntervalMs ?? 100, () => this.closed);
    this.segmentDir = join(dir, 'segments');
    this.cutsPath = join(dir, 'cuts.log');
    this.segments = new SegmentSet(this.segmentDir, options.indexIntervalBytes ?? 1024 * 1024, (tail) =>
      recordCut(this.cutsPath, tail, this.openedMark),
    );
    this.epoch = new EpochFile(join(dir, 'epoch'));
    this.markPath = join(dir, 'recovery-point');
    this.warn = options.warn ?? ((message) => console.warn(message));
  }

  /**
   * Opens (creating in writer mode) the store and verifies every record against the
   * recovery point. Damage at or below it: {@link CorruptStoreError} (nothing is cut, in
   * either mode). A torn tail past it: a writer cuts it and warns; a reader leaves it.
   * Both are in {@link recovery}.
   */
  static async open(options: FileStoreOptions): Promise<FileLogStore> {
    const clusterId = validateClusterId(options.clusterId);
    const dir = join(options.dataDir, clusterId);
    const mode = options.mode ?? 'writer';
    if (mode === 'writer') await mkdir(join(dir, 'segments'), { recursive: true });
    const lock = mode === 'writer' ? await PidLock.acquire(join(dir, 'writer.lock')) : undefined;
    const store = new FileLogStore(dir, mode, options, lock);
    try {
      await store.epoch.read();
      if (mode === 'writer') await store.recover(options.recoveryPoint ?? 'per-group');
      else await store.refresh();
    } catch (error) {
      await store.writer?.closeFiles();
      await lock?.release();
      throw error;
    }
    return store;
  }

  /**
   * What recovery found: the mark, and the torn tail a writer cut at open (or, for a
   * reader, the one its latest read or head saw and left). `oplog verify` reports a
   * torn tail as a finding.
   */
  get recovery(): FileRecoveryReport {
    return this.report;
  }

  append(record: BatchRecord, epoch: Epoch): Promise<void> {
    return this.writer?.append(record, epoch) ?? this.refuseWrite();
  }

  /** In a writer, ordered with its appends; in a reader, at once. */
  fence(epoch: Epoch): Promise<void> {
    if (this.writer !== undefined) return this.writer.fence(epoch);
    return (async () => {
      this.checkUsable();
      await this.epoch.fence(epoch);
    })();
  }

  truncateBefore(seq: Seq): Promise<void> {
    return this.writer?.truncateBefore(seq) ?? this.refuseWrite();
  }

  read(fromSeq: Seq, limitRecords = Infinity): AsyncIterable<VerifiedRecord> {
    return this.readTo(fromSeq, limitRecords, 'committed');
  }

  /**
   * Reads up to the acknowledged head (`committed`), or, for the write queue's own
   * duplicate checks, up to what is written and synced (`written`): a record whose mark
   * is still in flight is stored, and a byte-identical retry of it must find it.
   */
  private async *readTo(
    fromSeq: Seq,
    limitRecords: number,
    upTo: 'committed' | 'written',
  ): AsyncGenerator<VerifiedRecord> {
    this.checkUsable();
    if (this.mode === 'reader') await this.refresh();
    const bound = upTo === 'committed' ? this.committed.lastSeq : this.lastWrittenSeq();
    let nextSeq: bigint = fromSeq;
    let delivered = 0;
    const first = this.segments.list[0];
    if (first !== undefined && nextSeq < first.firstSeq) throw new TruncatedError(nextSeq, first.firstSeq);
    while (delivered < limitRecords && nextSeq <= bound) {
      const before = nextSeq;
      const segment = this.segments.segmentFor(nextSeq);
      if (segment === undefined)
        throw new TruncatedError(nextSeq, this.segments.list[0]?.firstSeq ?? bound + 1n);
      let fh: FileHandle;
      try {
        fh = await open(segment.path, 'r');
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
          throw new TruncatedError(nextSeq, this.segments.list[0]?.firstSeq ?? nextSeq, { cause });
        throw new StoreUnavailableError('file read', { path: segment.path }, { cause });
      }
      // A read that goes on where the last one stopped starts at that record, not at the
      // sparse index point before it (which would verify up to 1 MiB of records again on
      // every tailing read); the record found there must be the one expected, else the
      // file changed under the hint and the index point is used.
      let start = indexOffset(segment, nextSeq);
      let expected: bigint | undefined;
      const hint = this.resumeAt;
      if (
        hint !== undefined &&
        hint.path === segment.path &&
        hint.seq <= nextSeq &&
        hint.offset >= start &&
        hint.offset <= segment.endOffset
      ) {
        start = hint.offset;
        expected = hint.seq;
      }
      let hintWrong = false;
      try {
        for await (const item of scanSegment(fh, start, segment.endOffset)) {
          if (expected !== undefined) {
            hintWrong = item.kind !== 'record' || item.record.firstSeq !== expected;
            expected = undefined;
            if (hintWrong) break;
          }
          if (item.kind !== 'record')
            throw new CorruptStoreError(
              `${segment.path}@${item.offset}`,
              nextSeq,
              `${item.kind} record on read`,
              {
                cause: item.kind === 'invalid' ? item.error : undefined,
              },
            );
          const record = item.record;
          if (record.lastSeq < nextSeq) continue;
          if (record.firstSeq > bound) return;
          if (record.firstSeq > nextSeq)
            throw new CorruptStoreError(segment.path, nextSeq, `record at ${record.firstSeq} skips ahead`);
          yield record;
          nextSeq = record.lastSeq + 1n;
          this.resumeAt = { path: segment.path, seq: nextSeq, offset: item.offset + record.bytes.length };
          if (++delivered >= limitRecords) return;
        }
      } finally {
        await fh.close();
      }
      if (hintWrong) {
        this.resumeAt = undefined;
        continue;
      }
      // No progress (a segment shrank under a reader) or a short segment: stop here.
      if (nextSeq === before || nextSeq <= segment.lastSeq) return;
    }
  }

  async head(): Promise<Head> {
    this.checkUsable();
    if (this.mode === 'reader') await this.refresh();
    return { lastSeq: toSeq(this.committed.lastSeq), epoch: toEpoch(this.committed.epoch) };
  }

  async currentEpoch(): Promise<Epoch> {
    this.checkUsable();
    return this.epoch.read();
  }

  subscribe(fromSeq: Seq): Subscription {
    this.checkUsable();
    this.ensureWatcher();
    return tailSubscription(
      {
        read: (from) => this.read(from),
        changeCount: () => this.doorbell.changes,
        waitForChange: (signal, sinceCount) => {
          this.ensureWatcher(); // again: a watcher that failed is retried
          return this.doorbell.wait(signal, sinceCount);
        },
      },
      fromSeq,
    );
  }

  async close(): Promise<void> {
    if (this.closing) return;
    // New work is refused from here; what was queued before close() still runs.
    this.closing = true;
    await this.writer?.closeQueue();
    this.closed = true;
    this.watcher?.close();
    this.doorbell.ring();
    await this.writer?.closeFiles();
    await this.lock?.release();
  }

  /** A reader's append or truncation. */
  private refuseWrite(): Promise<never> {
    return Promise.reject(
      this.closing
        ? new ClosedError('file store')
        : new InvalidInputError('file store', 'opened as a reader: it cannot write'),
    );
  }

  // ---- recovery and refresh ------------------------------------------------------

  /**
   * A writer's open: verify against the mark and cut a torn tail past it (warning with
   * the byte ranges and seqs), make what survived durable, then move the mark to it
   * (creating the mark for a new log or one written before marks).
   */
  private async recover(markMode: 'per-group' | 'off'): Promise<void> {
    const loaded = await readRecoveryPoint(this.markPath);
    const mark = loaded?.point;
    this.openedMark = mark;
    const tornTail = await this.segments.refresh('writer', mark);
    const cuts = await readCuts(this.cutsPath);
    this.report = { recoveryPoint: mark, recoveryPointTornSlot: loaded?.tornSlot ?? false, tornTail, cuts };
    this.noteHead();
    if (tornTail !== undefined)
      this.warn(`file store ${this.dir}: ${describeTornTail(tornTail, mark)}`, {
        fromSeq: tornTail.fromSeq,
        toSeq: tornTail.toSeq,
      });
    const last = this.segments.last();
    if (loaded === undefined && last !== undefined && markMode === 'per-group')
      this.warn(
        `file store ${this.dir}: no recovery point (a log written before marks, or its mark file was removed): ` +
          `verified seqs up to ${last.lastSeq} by the old rule and marked them synced`,
        { fromSeq: 1n, toSeq: last.lastSeq },
      );
    this.writer = await SegmentWriter.open(
      {
        dir: this.dir,
        segments: this.segments,
        epoch: this.epoch,
        segmentBytesMax: this.options.segmentBytesMax ?? DEFAULT_SEGMENT_BYTES_MAX,
        readWritten: (seq) => this.recordAt(seq),
        onCommitted: (head) => (this.committed = head),
        doorbell: this.doorbell,
      },
      { loaded, markPath: this.markPath, markMode },
    );
  }

  /**
   * A reader's view of the directory: the mark first, since it is written after the data
   * it covers (data read after it reaches at least as far), then the segments.
   */
  private async refresh(): Promise<void> {
    const loaded = await readRecoveryPoint(this.markPath);
    const tornTail = await this.segments.refresh('reader', loaded?.point);
    // Read once: cuts happen only at a writer's open, which an already open reader outlives.
    const cuts = this.report === CLEAN_REPORT ? await readCuts(this.cutsPath) : this.report.cuts;
    this.report = {
      recoveryPoint: loaded?.point,
      recoveryPointTornSlot: loaded?.tornSlot ?? false,
      tornTail,
      cuts,
    };
    this.noteHead();
  }

  private noteHead(): void {
    const last = this.segments.last();
    if (last !== undefined) this.committed = { lastSeq: last.lastSeq, epoch: last.lastEpoch };
  }

  private async recordAt(seq: bigint): Promise<BatchRecord | undefined> {
    for await (const record of this.readTo(toSeq(seq), 1, 'written')) return record;
    return undefined;
  }

  private lastWrittenSeq(): bigint {
    return this.segments.last()?.lastSeq ?? 0n;
  }

  // ---- waiting for changes ---------------------------------------------------------

  /** Watches the segment directory; where watching fails the poll interval still applies. */
  private ensureWatcher(): void {
    if (this.watcher !== undefined || this.closed) return;
    try {
      this.watcher = watch(this.segmentDir, { persistent: false }, () => this.doorbell.ring());
      this.watcher.on('error', () => {
        this.watcher?.close();
      });
    } catch {
      // No directory yet, or no inotify: polling only.
    }
  }

  private checkUsable(): void {
    if (this.closed) throw new ClosedError('file store');
    this.writer?.checkNotFailed();
  }
}
