/**
 * The embedded file LogStore (no server): `<dataDir>/<clusterId>/` holds `segments/`
 * (records back to back, one file per ~segmentBytesMax, named by its first seq; see
 * ./segment-set.ts), the `recovery-point` mark (./recovery-point.ts), an `epoch` file
 * and, while a writer is open, `writer.lock`.
 *
 * Durability: appends that arrive while a write is in progress are written together
 * and made durable by one fdatasync (group commit at the store); then the recovery
 * point is moved past them (one pwrite + fdatasync of the mark file, beside the next
 * group's write), and only then do their appends resolve. So every acknowledged
 * record is at or below the mark, and anything past it was never acknowledged.
 * Recovery on open verifies every record: damage at or below the mark is a
 * {@link CorruptStoreError} naming file, offset, seq and check, and nothing is cut; bad bytes past it are a torn tail, cut by a writer
 * (with a warning naming the byte range and seqs) and left by a reader. Either way
 * {@link FileLogStore.recovery} says what was found, for `oplog verify`.
 *
 * Fencing on one host: only the holder of `writer.lock` appends (a second writer gets
 * LockedError; a dead holder's lock is taken over). The epoch file is re-read before
 * every group of appends, so a fence written by another process stops this writer at
 * its next group; a fence in this process is ordered with the appends.
 *
 * The segment list, recovery scan and retention are in ./segment-set.ts, the mark in
 * ./recovery-point.ts, what recovery found in ./recovery-report.ts. What stays here
 * (~600 lines) is the write queue and what shares its state with it — the group commit
 * with its pipelined mark, fencing by the epoch file, reads bounded by the acknowledged
 * head, and tailing — so that one file shows every path that changes the log.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { validateClusterId } from '../../core/cluster-id.js';
import {
  ClosedError,
  CorruptStoreError,
  InvalidInputError,
  OplogError,
  StoreUnavailableError,
  TruncatedError,
} from '../../core/errors.js';
import type { BatchRecord, VerifiedRecord } from '../../core/record-codec.js';
import { epoch as toEpoch, seq as toSeq, type Epoch, type Head, type Seq } from '../../core/types.js';
import { checkFence, decideAppend, verifyForAppend } from '../contract-rules.js';
import type { LogStore, Subscription } from '../log-store.js';
import { Doorbell, tailSubscription } from '../tail-subscription.js';
import { readEpochFile, writeEpochFile } from './epoch-file.js';
import { fsyncDir } from '../durable-fs.js';
import { PidLock } from './pid-lock.js';
import {
  EMPTY_RECOVERY_POINT,
  readRecoveryPoint,
  RecoveryPointFile,
  type RecoveryPoint,
} from './recovery-point.js';
import { scanSegment } from './segment-scan.js';
import {
  CLEAN_REPORT,
  describeTornTail,
  readCuts,
  recordCut,
  type FileRecoveryReport,
} from './recovery-report.js';
import { indexOffset, SegmentSet } from './segment-set.js';

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
  /** Where warnings go (a torn tail cut, a log without a mark). Default: console.warn. */
  readonly warn?: (message: string) => void;
}

export { describeTornTail, type CutRecord, type FileRecoveryReport } from './recovery-report.js';
export type { RecoveryPoint } from './recovery-point.js';
export type { ByteRange, TornTail } from './segment-set.js';
export type { RecordCheck } from './segment-scan.js';

type Job =
  | { readonly kind: 'append'; readonly record: BatchRecord; readonly epoch: Epoch; done: Settle }
  | { readonly kind: 'fence'; readonly epoch: Epoch; done: Settle }
  | { readonly kind: 'truncate'; readonly seq: Seq; done: Settle };

interface Settle {
  resolve(): void;
  reject(error: unknown): void;
}

export class FileLogStore implements LogStore {
  readonly kind = 'file';
  private readonly segments: SegmentSet;
  /** The writer's mark file; undefined for a reader and with `recoveryPoint: 'off'`. */
  private markFile: RecoveryPointFile | undefined;
  private report: FileRecoveryReport = CLEAN_REPORT;
  private epochValue = toEpoch(0n);
  /** ino:mtime:size of the epoch file when epochValue was read from it. */
  private epochFileVersion: string | undefined;
  /** What readers may see: the last record made durable by this writer (or found by a reader). */
  private committed: { lastSeq: bigint; epoch: bigint } = { lastSeq: 0n, epoch: 0n };
  /**
   * The last committed group's mark write and the settling of its appends (never
   * rejects). Marks are written one at a time, in group order.
   */
  private markInFlight: Promise<void> = Promise.resolve();
  /** A mark write failed: no later group may be acknowledged. */
  private markFailed = false;
  /** close() was called: new appends, fences and truncations are refused. */
  private closing = false;
  private activeFh: FileHandle | undefined;
  private readonly jobs: Job[] = [];
  private draining: Promise<void> | undefined;
  private drainActive = false;
  private failure: unknown;
  private closed = false;
  private watcher: FSWatcher | undefined;
  /** Rings on every append here and every file event seen by the watcher. */
  private readonly doorbell: Doorbell;
  private readonly segmentBytesMax: number;
  private readonly indexIntervalBytes: number;
  private readonly segmentDir: string;
  private readonly epochPath: string;
  private readonly markPath: string;
  private readonly cutsPath: string;
  /** The mark a writer's open read; the cut log records it with each cut. */
  private openedMark: RecoveryPoint | undefined;
  private readonly warn: (message: string) => void;

  private constructor(
    readonly dir: string,
    private readonly mode: 'writer' | 'reader',
    options: FileStoreOptions,
    private readonly lock: PidLock | undefined,
  ) {
    this.segmentBytesMax = options.segmentBytesMax ?? DEFAULT_SEGMENT_BYTES_MAX;
    this.indexIntervalBytes = options.indexIntervalBytes ?? 1024 * 1024;
    this.doorbell = new Doorbell(options.pollIntervalMs ?? 100, () => this.closed);
    this.segmentDir = join(dir, 'segments');
    this.cutsPath = join(dir, 'cuts.log');
    this.segments = new SegmentSet(this.segmentDir, this.indexIntervalBytes, (tail) =>
      recordCut(this.cutsPath, tail, this.openedMark),
    );
    this.epochPath = join(dir, 'epoch');
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
      store.epochValue = await readEpochFile(store.epochPath);
      if (mode === 'writer') await store.recover(options.recoveryPoint ?? 'per-group');
      else await store.refresh();
    } catch (error) {
      await store.markFile?.close();
      await store.activeFh?.close();
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
    return this.enqueue((done) => ({ kind: 'append', record, epoch, done }));
  }

  fence(epoch: Epoch): Promise<void> {
    if (this.mode === 'reader') return this.fenceFile(epoch);
    return this.enqueue((done) => ({ kind: 'fence', epoch, done }));
  }

  truncateBefore(seq: Seq): Promise<void> {
    return this.enqueue((done) => ({ kind: 'truncate', seq, done }));
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
      try {
        for await (const item of scanSegment(fh, indexOffset(segment, nextSeq), segment.endOffset)) {
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
          if (++delivered >= limitRecords) return;
        }
      } finally {
        await fh.close();
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
    this.epochValue = await readEpochFile(this.epochPath);
    return this.epochValue;
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
    await this.draining;
    this.closed = true;
    for (const job of this.jobs.splice(0)) job.done.reject(new ClosedError('file store'));
    this.watcher?.close();
    this.doorbell.ring();
    await this.activeFh?.close();
    await this.markFile?.close();
    await this.lock?.release();
  }

  // ---- the write queue -------------------------------------------------------------

  private enqueue(make: (done: Settle) => Job): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        if (this.closing) throw new ClosedError('file store');
        this.checkUsable();
        if (this.mode === 'reader')
          throw new InvalidInputError('file store', 'opened as a reader: it cannot write');
      } catch (error) {
        reject(error);
        return;
      }
      this.jobs.push(make({ resolve, reject }));
      if (!this.drainActive) {
        this.drainActive = true;
        this.draining = this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      await this.drainJobs();
      // Acks of the last group wait for its mark; jobs may have queued meanwhile.
      await this.markInFlight;
      if (this.jobs.length === 0 || this.failure !== undefined) break;
    }
    for (const job of this.jobs.splice(0)) job.done.reject(this.failedError());
    // Cleared in the same synchronous step that saw the queue empty, so an append
    // enqueued by a continuation of the last job always finds a drain to start.
    this.drainActive = false;
  }

  private async drainJobs(): Promise<void> {
    while (this.jobs.length > 0 && this.failure === undefined) {
      const head = this.jobs[0]!;
      if (head.kind !== 'append') {
        await this.markInFlight;
        this.jobs.shift();
        await settle(head.done, () =>
          head.kind === 'fence' ? this.fenceFile(head.epoch) : this.segments.removeBelow(head.seq),
        );
        continue;
      }
      let count = 0;
      while (count < this.jobs.length && this.jobs[count]!.kind === 'append') count++;
      await this.commitGroup(this.jobs.splice(0, count) as Extract<Job, { kind: 'append' }>[]);
    }
  }

  /**
   * Writes a group of appends and makes them durable with one fdatasync, then moves the
   * recovery point past them; their appends resolve once the mark is durable. The mark's
   * write and sync run beside the next group's write and sync (at most one mark in
   * flight, marks in order), so pipelined appends do not pay the two syncs one after
   * the other; an append is still acknowledged only at or below a durable mark.
   */
  private async commitGroup(group: Extract<Job, { kind: 'append' }>[]): Promise<void> {
    const settled: Settle[] = [];
    const written: BatchRecord[] = [];
    try {
      await this.maybeReloadEpoch();
      for (const job of group) {
        const view = {
          epoch: this.epochValue,
          lastSeq: this.lastWrittenSeq(),
          recordAt: (s: bigint) => written.find((r) => r.firstSeq <= s && s <= r.lastSeq) ?? this.recordAt(s),
        };
        let decision: 'write' | 'duplicate';
        let verified: BatchRecord;
        try {
          verified = verifyForAppend(job.record, job.epoch);
          decision = await decideAppend(verified, job.epoch, view);
        } catch (error) {
          if (!(error instanceof OplogError) || error instanceof StoreUnavailableError) throw error;
          job.done.reject(error);
          continue;
        }
        if (decision === 'write') {
          await this.writeRecord(verified);
          written.push(verified);
        }
        settled.push(job.done);
      }
      await this.activeFh?.datasync();
    } catch (cause) {
      // The file may now hold part of a record: stop appending; reopening repairs the tail.
      this.failure = cause;
      const error = this.failedError();
      for (const job of group) job.done.reject(error);
      return;
    }
    // Only now is everything up to the last segment's end durable: the mark may pass it.
    const point = written.length > 0 ? this.syncedPoint() : undefined;
    const last = this.segments.last();
    const committed = last === undefined ? undefined : { lastSeq: last.lastSeq, epoch: last.lastEpoch };
    const previous = this.markInFlight;
    const marked = (async () => {
      await previous;
      if (this.markFailed) throw this.failedError();
      if (point !== undefined) await this.markFile?.write(point);
    })();
    this.markInFlight = marked.then(
      () => {
        if (committed !== undefined) this.committed = committed;
        for (const done of settled) done.resolve();
        this.doorbell.ring();
      },
      (cause: unknown) => {
        this.markFailed = true;
        this.failure ??= cause;
        const error = this.failedError();
        for (const done of settled) done.reject(error);
      },
    );
    // At most one mark beside the next group's write: the one before this group's.
    await previous;
  }

  private async writeRecord(record: BatchRecord): Promise<void> {
    let segment = this.segments.last();
    if (segment === undefined || this.activeFh === undefined || segment.endOffset >= this.segmentBytesMax) {
      // The closed segment is synced before the next exists: the mark, which moves to the
      // new segment after this group, then covers all of it.
      await this.activeFh?.datasync();
      await this.activeFh?.close();
      this.activeFh = undefined;
      const next = this.segments.push(record.firstSeq);
      this.activeFh = await open(next.path, 'wx');
      await fsyncDir(this.segmentDir);
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
    this.segments.noteRecord(segment, segment.endOffset, record);
  }

  /**
   * Re-reads the epoch file when it changed (another process may have fenced us). One
   * stat per group of appends; the file is replaced by rename, so a new inode or mtime
   * means new content.
   */
  private async maybeReloadEpoch(): Promise<void> {
    const info = await stat(this.epochPath, { bigint: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    const version = info === undefined ? 'none' : `${info.ino}:${info.mtimeNs}:${info.size}`;
    if (version === this.epochFileVersion) return;
    this.epochValue = await readEpochFile(this.epochPath);
    this.epochFileVersion = version;
  }

  private async fenceFile(epoch: Epoch): Promise<void> {
    this.checkUsable();
    const lock = await PidLock.acquire(`${this.epochPath}.lock`);
    try {
      checkFence(epoch, await readEpochFile(this.epochPath));
      await writeEpochFile(this.epochPath, epoch);
      this.epochValue = epoch;
    } finally {
      await lock.release();
    }
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
    if (tornTail !== undefined) this.warn(`file store ${this.dir}: ${describeTornTail(tornTail, mark)}`);
    const last = this.segments.last();
    if (loaded === undefined && last !== undefined && markMode === 'per-group')
      this.warn(
        `file store ${this.dir}: no recovery point (a log written before marks, or its mark file was removed): ` +
          `verified seqs up to ${last.lastSeq} by the old rule and marked them synced`,
      );
    if (last !== undefined) this.activeFh = await open(last.path, 'r+');
    if (markMode === 'off') {
      if (loaded !== undefined) {
        await unlink(this.markPath);
        await fsyncDir(this.dir);
      }
      return;
    }
    // Records past the old mark passed verification but may never have been synced
    // (a crash after the write, before the fdatasync): sync them before the mark covers them.
    for (const segment of this.segments.list)
      if (mark === undefined || segment.firstSeq >= mark.segmentFirstSeq) await datasyncFile(segment.path);
    const point = this.syncedPoint();
    this.markFile = await RecoveryPointFile.open(this.markPath, loaded, point);
    if (loaded !== undefined && (loaded.tornSlot || !samePoint(loaded.point, point)))
      await this.markFile.write(point);
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

  /** The recovery point for the last segment's end, which the caller has made durable. */
  private syncedPoint(): RecoveryPoint {
    const last = this.segments.last();
    if (last === undefined) return EMPTY_RECOVERY_POINT;
    return { segmentFirstSeq: last.firstSeq, endOffset: last.endOffset, lastSeq: last.lastSeq };
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
    if (this.failure !== undefined) throw this.failedError();
  }

  private failedError(): OplogError {
    return new StoreUnavailableError(
      'file append (an earlier write failed; reopen the store to repair its tail)',
      { dir: this.dir },
      { cause: this.failure, retryable: false },
    );
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

async function settle(done: Settle, work: () => Promise<void>): Promise<void> {
  try {
    await work();
    done.resolve();
  } catch (error) {
    done.reject(error);
  }
}
