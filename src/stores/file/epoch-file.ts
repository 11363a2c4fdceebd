/**
 * The file store's fencing epoch: one small file, replaced atomically (write a
 * temporary file, fsync, rename, fsync the directory), with a checksum so a damaged
 * file is reported instead of read as epoch 0. {@link EpochFile} is one log's epoch as
 * this process last read or wrote it: fencing on one host.
 */
import { xxh64 } from '@node-rs/xxhash';
import { readFile, stat } from 'node:fs/promises';
import { CorruptStoreError } from '../../core/errors.js';
import { epoch as toEpoch, type Epoch } from '../../core/types.js';
import { checkFence } from '../contract-rules.js';
import { writeFileAtomic } from '../durable-fs.js';
import { PidLock } from './pid-lock.js';

const TAG = 'oplog-epoch v1';

export async function readEpochFile(path: string): Promise<Epoch> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return toEpoch(0n);
    throw error;
  }
  const match = /^oplog-epoch v1 (\d{1,20}) ([0-9a-f]{16})\n$/.exec(text);
  if (match === null || checksum(match[1]!) !== match[2])
    throw new CorruptStoreError(path, undefined, 'epoch file is damaged');
  return toEpoch(BigInt(match[1]!));
}

export async function writeEpochFile(path: string, epoch: Epoch): Promise<void> {
  await writeFileAtomic(path, `${TAG} ${epoch} ${checksum(String(epoch))}\n`);
}

function checksum(text: string): string {
  return xxh64(Buffer.from(text)).toString(16).padStart(16, '0');
}

/** One log's epoch file and the epoch this process last read from it or wrote to it. */
export class EpochFile {
  private epoch = toEpoch(0n);
  /** ino:mtime:size of the file when {@link value} was read by maybeReload. */
  private version: string | undefined;

  constructor(readonly path: string) {}

  /** The epoch last read or written; appends are decided against it. */
  get value(): Epoch {
    return this.epoch;
  }

  /** Reads the file (0 when there is none). */
  async read(): Promise<Epoch> {
    this.epoch = await readEpochFile(this.path);
    return this.epoch;
  }

  /**
   * Re-reads the file when it changed (another process may have fenced us). One stat;
   * the file is replaced by rename, so a new inode or mtime means new content.
   */
  async maybeReload(): Promise<void> {
    const info = await stat(this.path, { bigint: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    const version = info === undefined ? 'none' : `${info.ino}:${info.mtimeNs}:${info.size}`;
    if (version === this.version) return;
    this.epoch = await readEpochFile(this.path);
    this.version = version;
  }

  /**
   * Makes `epoch` current: a compare-and-set under `<path>.lock`, so two processes
   * fencing at once cannot both win. {@link FencedError} unless `epoch` is above the
   * file's.
   */
  async fence(epoch: Epoch): Promise<void> {
    const lock = await PidLock.acquire(`${this.path}.lock`);
    try {
      checkFence(epoch, await readEpochFile(this.path));
      await writeEpochFile(this.path, epoch);
      this.epoch = epoch;
    } finally {
      await lock.release();
    }
  }
}
