/**
 * The embedded file LogStore (no server): `<dataDir>/<clusterId>/` holds `segments/`
 * (records back to back, one file per ~segmentBytesMax, named by its first seq), an
 * `epoch` file and, while a writer is open, `writer.lock`.
 *
 * Durability: appends that arrive while a write is in progress are written together
 * and made durable by one fdatasync (group commit at the store), and each append
 * resolves only after it. Recovery on open verifies every record; a bad record with
 * no valid record after it is a torn tail and is cut off; a bad record with a valid one
 * after it is corruption in the middle: {@link CorruptStoreError} with the seq, and
 * nothing is cut.
 *
 * Fencing on one host: only the holder of `writer.lock` appends (a second writer gets
 * LockedError; a dead holder's lock is taken over). The epoch file is re-read before
 * every group of appends, so a fence written by another process stops this writer at
 * its next group; a fence in this process is ordered with the appends.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readdir, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
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
import type { BatchRecord } from '../../core/record-codec.js';
import { epoch as toEpoch, seq as toSeq, type Epoch, type Head, type Seq } from '../../core/types.js';
import { checkFence, decideAppend, verifyForAppend } from '../contract-rules.js';
import type { LogStore, Subscription } from '../log-store.js';
import { Doorbell, tailSubscription } from '../tail-subscription.js';
import { readEpochFile, writeEpochFile } from './epoch-file.js';
import { fsyncDir } from './durable-fs.js';
import { PidLock } from './pid-lock.js';
import { scanSegment, validRecordAfter } from './segment-scan.js';

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
}

interface Segment {
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

type Job =
  | { readonly kind: 'append'; readonly record: BatchRecord; readonly epoch: Epoch; done: Settle }
  | { readonly kind: 'fence'; readonly epoch: Epoch; done: Settle }
  | { readonly kind: 'truncate'; readonly seq: Seq; done: Settle };

interface Settle {
  resolve(): void;
  reject(error: unknown): void;
}

const SEGMENT_NAME = /^(\d{20})\.seg$/;

export class FileLogStore implements LogStore {
  readonly kind = 'file';
  private readonly segments: Segment[] = [];
  private epochValue = toEpoch(0n);
  /** ino:mtime:size of the epoch file when epochValue was read from it. */
  private epochFileVersion: string | undefined;
  /** What readers may see: the last record made durable by this writer (or found by a reader). */
  private committed: { lastSeq: bigint; epoch: bigint } = { lastSeq: 0n, epoch: 0n };
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

  private constructor(
    readonly dir: string,
    private readonly mode: 'writer' | 'reader',
    options: FileStoreOptions,
    private readonly lock: PidLock | undefined,
  ) {
    this.segmentBytesMax = options.segmentBytesMax ?? 64 * 1024 * 1024;
    this.indexIntervalBytes = options.indexIntervalBytes ?? 1024 * 1024;
    this.doorbell = new Doorbell(options.pollIntervalMs ?? 100, () => this.closed);
    this.segmentDir = join(dir, 'segments');
    this.epochPath = join(dir, 'epoch');
  }

  /** Opens (creating in writer mode) the store; verifies every record and repairs a torn tail. */
  static async open(options: FileStoreOptions): Promise<FileLogStore> {
    const clusterId = validateClusterId(options.clusterId);
    const dir = join(options.dataDir, clusterId);
    const mode = options.mode ?? 'writer';
    if (mode === 'writer') await mkdir(join(dir, 'segments'), { recursive: true });
    const lock = mode === 'writer' ? await PidLock.acquire(join(dir, 'writer.lock')) : undefined;
    const store = new FileLogStore(dir, mode, options, lock);
    try {
      store.epochValue = await readEpochFile(store.epochPath);
      await store.refresh();
      if (mode === 'writer') await store.openActive();
    } catch (error) {
      await lock?.release();
      throw error;
    }
    return store;
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

  async *read(fromSeq: Seq, limitRecords = Infinity): AsyncIterable<BatchRecord> {
    this.checkUsable();
    if (this.mode === 'reader') await this.refresh();
    const bound = this.committed.lastSeq;
    let nextSeq: bigint = fromSeq;
    let delivered = 0;
    const first = this.segments[0];
    if (first !== undefined && nextSeq < first.firstSeq) throw new TruncatedError(nextSeq, first.firstSeq);
    while (delivered < limitRecords && nextSeq <= bound) {
      const before = nextSeq;
      const segment = this.segmentFor(nextSeq);
      if (segment === undefined) throw new TruncatedError(nextSeq, this.segments[0]?.firstSeq ?? bound + 1n);
      let fh: FileHandle;
      try {
        fh = await open(segment.path, 'r');
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
          throw new TruncatedError(nextSeq, this.segments[0]?.firstSeq ?? nextSeq, { cause });
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
    if (this.closed) return;
    this.closed = true;
    await this.draining;
    for (const job of this.jobs.splice(0)) job.done.reject(new ClosedError('file store'));
    this.watcher?.close();
    this.doorbell.ring();
    await this.activeFh?.close();
    await this.lock?.release();
  }

  // ---- the write queue -------------------------------------------------------------

  private enqueue(make: (done: Settle) => Job): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
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
    while (this.jobs.length > 0 && this.failure === undefined) {
      const head = this.jobs[0]!;
      if (head.kind !== 'append') {
        this.jobs.shift();
        await settle(head.done, () =>
          head.kind === 'fence' ? this.fenceFile(head.epoch) : this.removeBelow(head.seq),
        );
        continue;
      }
      let count = 0;
      while (count < this.jobs.length && this.jobs[count]!.kind === 'append') count++;
      await this.commitGroup(this.jobs.splice(0, count) as Extract<Job, { kind: 'append' }>[]);
    }
    for (const job of this.jobs.splice(0)) job.done.reject(this.failedError());
    // Cleared in the same synchronous step that saw the queue empty, so an append
    // enqueued by a continuation of the last job always finds a drain to start.
    this.drainActive = false;
  }

  /** Writes a group of appends and makes them durable with one fdatasync. */
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
    const last = this.segments.at(-1);
    if (last !== undefined) this.committed = { lastSeq: last.lastSeq, epoch: last.lastEpoch };
    for (const done of settled) done.resolve();
    this.doorbell.ring();
  }

  private async writeRecord(record: BatchRecord): Promise<void> {
    let segment = this.segments.at(-1);
    if (segment === undefined || this.activeFh === undefined || segment.endOffset >= this.segmentBytesMax) {
      await this.activeFh?.datasync();
      await this.activeFh?.close();
      this.activeFh = undefined;
      segment = newSegment(this.segmentDir, record.firstSeq);
      this.activeFh = await open(segment.path, 'wx');
      await fsyncDir(this.segmentDir);
      this.segments.push(segment);
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
    this.noteRecord(segment, segment.endOffset, record);
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

  private async removeBelow(seq: Seq): Promise<void> {
    let removed = 0;
    while (this.segments.length - removed > 1 && this.segments[removed]!.lastSeq < seq) {
      await unlink(this.segments[removed]!.path);
      removed++;
    }
    if (removed === 0) return;
    this.segments.splice(0, removed);
    await fsyncDir(this.segmentDir);
  }

  // ---- loading, recovery and reading ---------------------------------------------

  /**
   * Brings the segment list up to date with the directory and scans what is new.
   * At a writer's open this is recovery: a torn tail is cut off.
   */
  private async refresh(): Promise<void> {
    const names = await readdir(this.segmentDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw new StoreUnavailableError('file list segments', { dir: this.segmentDir }, { cause: error });
    });
    const firstSeqs = names
      .map((name) => SEGMENT_NAME.exec(name)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(BigInt)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const known = new Map(this.segments.map((s) => [s.firstSeq, s]));
    this.segments.length = 0;
    for (const firstSeq of firstSeqs)
      this.segments.push(known.get(firstSeq) ?? newSegment(this.segmentDir, firstSeq));
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const previous = this.segments[i - 1];
      if (previous !== undefined && segment.firstSeq !== previous.lastSeq + 1n)
        throw new CorruptStoreError(
          segment.path,
          previous.lastSeq + 1n,
          `segment starts at ${segment.firstSeq}`,
        );
      const complete = await this.scanTail(segment, i === this.segments.length - 1);
      if (!complete) {
        this.segments.length = i + 1;
        break;
      }
    }
    if (this.mode === 'writer') await this.dropEmptyLastSegment();
    const last = this.segments.at(-1);
    if (last !== undefined) this.committed = { lastSeq: last.lastSeq, epoch: last.lastEpoch };
  }

  /**
   * Scans `segment` from its verified end to the file's end. Returns false when it
   * stopped at an incomplete or bad record that is a tail (cut off by a writer at open;
   * a reader waits for it to complete). Throws CorruptStoreError for damage in the middle.
   */
  private async scanTail(segment: Segment, isLast: boolean): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(segment.path, 'r');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return false; // removed by retention meanwhile
      throw new StoreUnavailableError('file open segment', { path: segment.path }, { cause });
    }
    try {
      const size = (await fh.stat()).size;
      for await (const item of scanSegment(fh, segment.endOffset, size)) {
        if (item.kind === 'record') {
          if (item.record.firstSeq !== segment.lastSeq + 1n)
            throw new CorruptStoreError(
              `${segment.path}@${item.offset}`,
              segment.lastSeq + 1n,
              `found seq ${item.record.firstSeq}`,
            );
          this.noteRecord(segment, item.offset, item.record);
          continue;
        }
        const laterRecord = await validRecordAfter(fh, item.offset, size);
        if (!isLast || laterRecord !== undefined)
          throw new CorruptStoreError(
            `${segment.path}@${item.offset}`,
            segment.lastSeq + 1n,
            `${item.kind} record ${laterRecord === undefined ? 'before the next segment' : `before a valid record at offset ${laterRecord}`}`,
            { cause: item.kind === 'invalid' ? item.error : undefined },
          );
        if (this.mode === 'writer') {
          await truncate(segment.path, item.offset);
          const rw = await open(segment.path, 'r+');
          await rw.datasync();
          await rw.close();
        }
        return false;
      }
      return true;
    } finally {
      await fh.close();
    }
  }

  /** A segment file created just before a crash may hold no record: remove it. */
  private async dropEmptyLastSegment(): Promise<void> {
    const last = this.segments.at(-1);
    if (last === undefined || last.endOffset > 0) return;
    await unlink(last.path);
    await fsyncDir(this.segmentDir);
    this.segments.pop();
  }

  private async openActive(): Promise<void> {
    const last = this.segments.at(-1);
    if (last !== undefined) this.activeFh = await open(last.path, 'r+');
  }

  private noteRecord(segment: Segment, offset: number, record: BatchRecord): void {
    if (segment.index.length === 0 || offset - segment.lastIndexedOffset >= this.indexIntervalBytes) {
      segment.index.push({ seq: record.firstSeq, offset });
      segment.lastIndexedOffset = offset;
    }
    segment.endOffset = offset + record.bytes.length;
    segment.lastSeq = record.lastSeq;
    segment.lastEpoch = record.epoch;
  }

  private async recordAt(seq: bigint): Promise<BatchRecord | undefined> {
    for await (const record of this.read(toSeq(seq), 1)) return record;
    return undefined;
  }

  private lastWrittenSeq(): bigint {
    return this.segments.at(-1)?.lastSeq ?? 0n;
  }

  /** The segment whose seqs include `seq` (largest firstSeq ≤ seq). */
  private segmentFor(seq: bigint): Segment | undefined {
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

function newSegment(dir: string, firstSeq: bigint): Segment {
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
function indexOffset(segment: Segment, seq: bigint): number {
  let offset = 0;
  for (const point of segment.index) {
    if (point.seq > seq) break;
    offset = point.offset;
  }
  return offset;
}

async function settle(done: Settle, work: () => Promise<void>): Promise<void> {
  try {
    await work();
    done.resolve();
  } catch (error) {
    done.reject(error);
  }
}
