/**
 * The file store's write side: appends, fences and truncations in call order through
 * the shared append queue (../append-queue.ts), each group of queued appends written
 * and made durable by one fdatasync, then the recovery point moved past it, beside the
 * next group's write; only then do the group's appends resolve.
 *
 * A write or sync that fails leaves the file possibly holding part of a record: the
 * store is failed (every queued and later job rejected) until it is reopened, which
 * repairs the tail. A mark write that fails does the same, and no later group is
 * acknowledged.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { ClosedError, OplogError, StoreUnavailableError } from '../../core/errors.js';
import type { BatchRecord } from '../../core/record-codec.js';
import type { Epoch, Seq } from '../../core/types.js';
import { AppendQueue, type QueuedAppend } from '../append-queue.js';
import { decideAppend, verifyForAppend } from '../contract-rules.js';
import { fsyncDir } from '../durable-fs.js';
import type { Doorbell } from '../tail-subscription.js';
import type { EpochFile } from './epoch-file.js';
import {
  EMPTY_RECOVERY_POINT,
  RecoveryPointFile,
  type LoadedRecoveryPoint,
  type RecoveryPoint,
} from './recovery-point.js';
import type { SegmentSet } from './segment-set.js';

interface AppendItem {
  readonly record: BatchRecord;
  readonly epoch: Epoch;
}

export interface SegmentWriterOptions {
  /** The store's directory, for errors. */
  readonly dir: string;
  readonly segments: SegmentSet;
  readonly epoch: EpochFile;
  /** A segment is closed once it holds at least this many bytes. */
  readonly segmentBytesMax: number;
  /** The written (synced, maybe not yet acknowledged) record covering `seq`, if any. */
  readonly readWritten: (seq: bigint) => Promise<BatchRecord | undefined>;
  /** A group is acknowledged: readers may now see up to `head`. Called before its appends resolve. */
  readonly onCommitted: (head: { readonly lastSeq: bigint; readonly epoch: bigint }) => void;
  /** Rung after a group's appends resolve. */
  readonly doorbell: Doorbell;
}

/** What the store's open found, for the writer's half of recovery. */
export interface WriterRecovery {
  /** The mark read at open; undefined when there was none. */
  readonly loaded: LoadedRecoveryPoint | undefined;
  readonly markPath: string;
  readonly markMode: 'per-group' | 'off';
}

export class SegmentWriter {
  /** The last segment's handle, opened for writing; undefined while the log is empty. */
  private activeFh: FileHandle | undefined;
  /** Undefined with `recoveryPoint: 'off'`. */
  private markFile: RecoveryPointFile | undefined;
  /**
   * The last committed group's mark write and the settling of its appends (never
   * rejects). Marks are written one at a time, in group order.
   */
  private markInFlight: Promise<void> = Promise.resolve();
  /** A mark write failed: no later group may be acknowledged. */
  private markFailed = false;
  /** Why the store stopped writing; set once, never cleared (reopen to repair). */
  private failureCause: unknown;
  private failed = false;
  private readonly queue = new AppendQueue<AppendItem>({
    // Every append queued before the next barrier: one fdatasync for all of them.
    cut: (run) => run.length,
    write: (group) => this.commitGroup(group),
    onWriteFailure: 'store',
    settled: () => this.markInFlight,
  });

  private constructor(private readonly options: SegmentWriterOptions) {}

  /**
   * The writer's half of a writer's open, after the segments were verified and any torn
   * tail cut: makes what survived durable and moves the mark to it (creating the mark
   * for a new log or one written before marks; removing it with `off`).
   */
  static async open(options: SegmentWriterOptions, recovery: WriterRecovery): Promise<SegmentWriter> {
    const writer = new SegmentWriter(options);
    try {
      await writer.recover(recovery);
    } catch (error) {
      await writer.closeFiles();
      throw error;
    }
    return writer;
  }

  append(record: BatchRecord, epoch: Epoch): Promise<void> {
    return this.queue.append({ record, epoch });
  }

  /** A fence in this process is ordered with its appends. */
  fence(epoch: Epoch): Promise<void> {
    return this.queue.barrier(async () => {
      this.checkNotFailed();
      await this.options.epoch.fence(epoch);
    });
  }

  truncateBefore(seq: Seq): Promise<void> {
    return this.queue.barrier(() => this.options.segments.removeBelow(seq));
  }

  /** Refuses new work (ClosedError); resolves once what was queued has run and settled. */
  closeQueue(): Promise<void> {
    return this.queue.close(() => new ClosedError('file store'));
  }

  async closeFiles(): Promise<void> {
    await this.activeFh?.close();
    await this.markFile?.close();
  }

  /** Throws the store's failure, if it failed. */
  checkNotFailed(): void {
    if (this.failed) throw this.failedError();
  }

  private async recover({ loaded, markPath, markMode }: WriterRecovery): Promise<void> {
    const { segments } = this.options;
    const last = segments.last();
    if (last !== undefined) this.activeFh = await open(last.path, 'r+');
    if (markMode === 'off') {
      if (loaded !== undefined) {
        await unlink(markPath);
        await fsyncDir(this.options.dir);
      }
      return;
    }
    // Records past the old mark passed verification but may never have been synced
    // (a crash after the write, before the fdatasync): sync them before the mark covers them.
    const mark = loaded?.point;
    for (const segment of segments.list)
      if (mark === undefined || segment.firstSeq >= mark.segmentFirstSeq) await datasyncFile(segment.path);
    const point = this.syncedPoint();
    this.markFile = await RecoveryPointFile.open(markPath, loaded, point);
    if (loaded !== undefined && (loaded.tornSlot || !samePoint(loaded.point, point)))
      await this.markFile.write(point);
  }

  /**
   * Writes a group of appends and makes them durable with one fdatasync, then moves the
   * recovery point past them; their appends resolve once the mark is durable. The mark's
   * write and sync run beside the next group's write and sync (at most one mark in
   * flight, marks in order), so pipelined appends do not pay the two syncs one after
   * the other; an append is still acknowledged only at or below a durable mark.
   */
  private async commitGroup(group: readonly QueuedAppend<AppendItem>[]): Promise<void> {
    const settled: QueuedAppend<AppendItem>[] = [];
    const written: BatchRecord[] = [];
    try {
      await this.options.epoch.maybeReload();
      for (const append of group) {
        const { record, epoch } = append.item;
        const view = {
          epoch: this.options.epoch.value,
          lastSeq: this.lastWrittenSeq(),
          recordAt: (s: bigint) =>
            written.find((r) => r.firstSeq <= s && s <= r.lastSeq) ?? this.options.readWritten(s),
        };
        let decision: 'write' | 'duplicate';
        let verified: BatchRecord;
        try {
          verified = verifyForAppend(record, epoch);
          decision = await decideAppend(verified, epoch, view);
        } catch (error) {
          if (!(error instanceof OplogError) || error instanceof StoreUnavailableError) throw error;
          append.reject(error);
          continue;
        }
        if (decision === 'write') {
          await this.writeRecord(verified);
          written.push(verified);
        }
        settled.push(append);
      }
      await this.activeFh?.datasync();
    } catch (cause) {
      // The file may now hold part of a record: stop appending; reopening repairs the tail.
      // The queue rejects this group and everything queued, now and later.
      throw this.fail(cause);
    }
    // At most one mark beside the next group's write: the one before this group's.
    await this.queueMark(written.length > 0 ? this.syncedPoint() : undefined, settled);
  }

  /**
   * Only now is everything up to the last segment's end durable: the mark may pass it
   * (`point`; undefined when the group wrote nothing). Queues its write behind the
   * previous mark, which it returns; the group's appends resolve once it is durable.
   */
  private queueMark(point: RecoveryPoint | undefined, settled: readonly QueuedAppend<AppendItem>[]) {
    const last = this.options.segments.last();
    const committed = last === undefined ? undefined : { lastSeq: last.lastSeq, epoch: last.lastEpoch };
    const previous = this.markInFlight;
    const marked = (async () => {
      await previous;
      if (this.markFailed) throw this.failedError();
      if (point !== undefined) await this.markFile?.write(point);
    })();
    this.markInFlight = marked.then(
      () => {
        if (committed !== undefined) this.options.onCommitted(committed);
        for (const append of settled) append.resolve();
        this.options.doorbell.ring();
      },
      (cause: unknown) => {
        this.markFailed = true;
        const error = this.fail(cause);
        for (const append of settled) append.reject(error);
      },
    );
    return previous;
  }

  private async writeRecord(record: BatchRecord): Promise<void> {
    const { segments } = this.options;
    let segment = segments.last();
    if (
      segment === undefined ||
      this.activeFh === undefined ||
      segment.endOffset >= this.options.segmentBytesMax
    ) {
      // The closed segment is synced before the next exists: the mark, which moves to the
      // new segment after this group, then covers all of it.
      await this.activeFh?.datasync();
      await this.activeFh?.close();
      this.activeFh = undefined;
      const next = segments.push(record.firstSeq);
      this.activeFh = await open(next.path, 'wx');
      await fsyncDir(segments.dir);
      segment = next;
    }
    let offset = 0;
    while (offset < record.bytes.length) {
      const { bytesWritten } = await this.activeFh.write(
        record.bytes,
        offset,
        record.bytes.length - offset,
        segment.endOffset + offset,
      );
      offset += bytesWritten;
    }
    segments.noteRecord(segment, segment.endOffset, record);
  }

  /**
   * The store stops writing (the first cause is kept): every queued and later job is
   * rejected. Returns the error they get.
   */
  private fail(cause: unknown): OplogError {
    if (!this.failed) {
      this.failed = true;
      this.failureCause = cause;
    }
    const error = this.failedError();
    this.queue.fail(error);
    return error;
  }

  private failedError(): OplogError {
    return new StoreUnavailableError(
      'file append (an earlier write failed; reopen the store to repair its tail)',
      { dir: this.options.dir },
      { cause: this.failureCause, retryable: false },
    );
  }

  /** The recovery point for the last segment's end, which the caller has made durable. */
  private syncedPoint(): RecoveryPoint {
    const last = this.options.segments.last();
    if (last === undefined) return EMPTY_RECOVERY_POINT;
    return { segmentFirstSeq: last.firstSeq, endOffset: last.endOffset, lastSeq: last.lastSeq };
  }

  private lastWrittenSeq(): bigint {
    return this.options.segments.last()?.lastSeq ?? 0n;
  }
}

function samePoint(a: RecoveryPoint, b: RecoveryPoint): boolean {
  return a.segmentFirstSeq === b.segmentFirstSeq && a.endOffset === b.endOffset && a.lastSeq === b.lastSeq;
}

async function datasyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
