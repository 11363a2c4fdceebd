/**
 * The file store's recovery point (DESIGN.md "Stores"): a durable mark of how far the
 * log is known to be synced, as Kafka's log keeps one. Everything at or below it was
 * fdatasynced before the mark was written, so damage there is corruption, never a torn
 * tail.
 *
 * The file `<dir>/recovery-point` is 8 KiB: two 56-byte slots, at offsets 0 and 4096
 * (different sectors and pages). Each slot holds a generation, the mark, and an xxh64
 * over both. A write goes to the slot of the older generation, in place (no rename,
 * no size change, so an fdatasync flushes one data page and no metadata). A crash in
 * the middle of a write tears at most that slot (generation g always lives in slot g % 2); the other still holds the previous
 * mark, which is lower and so still safe. Both slots failing their checks is not a
 * torn write but damage, and is reported as such: the mark is what tells corruption
 * from a torn tail, so guessing it is not safe.
 *
 * The file is created atomically (temporary file, fsync, rename, fsync the directory).
 */
import { xxh64 } from '@node-rs/xxhash';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { CorruptStoreError } from '../../core/errors.js';
import { writeFileAtomic } from '../durable-fs.js';

/**
 * How far the log is known synced: every segment before `segmentFirstSeq` entirely, and
 * that segment up to `endOffset`, where the record holding `lastSeq` ends.
 * `segmentFirstSeq` 0 means nothing (an empty log).
 */
export interface RecoveryPoint {
  readonly segmentFirstSeq: bigint;
  readonly endOffset: number;
  readonly lastSeq: bigint;
}

/** What was found on disk; `tornSlot`: one slot failed its checks and the other was used. */
export interface LoadedRecoveryPoint {
  readonly point: RecoveryPoint;
  readonly generation: bigint;
  readonly tornSlot: boolean;
}

export const EMPTY_RECOVERY_POINT: RecoveryPoint = { segmentFirstSeq: 0n, endOffset: 0, lastSeq: 0n };

const MAGIC = 0x4f505250; // "OPRP"
const VERSION = 1;
const SLOT_BYTES = 56;
const CHECKED_BYTES = 48;
const SLOT_STRIDE = 4096;
const FILE_BYTES = 2 * SLOT_STRIDE;

/** Reads the mark; `undefined` when there is no file (a new log, or one written before marks). */
export async function readRecoveryPoint(path: string): Promise<LoadedRecoveryPoint | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (bytes.length !== FILE_BYTES)
    throw new CorruptStoreError(
      path,
      undefined,
      `recovery point file is ${bytes.length} bytes, not ${FILE_BYTES}`,
      {
        path,
        offset: 0,
        check: 'recovery-point',
      },
    );
  const slots = [decodeSlot(bytes.subarray(0, SLOT_BYTES)), decodeSlot(bytes.subarray(SLOT_STRIDE))];
  const valid = slots.filter((s): s is NonNullable<typeof s> => s !== undefined);
  const newest = valid.sort((a, b) => (a.generation > b.generation ? -1 : 1))[0];
  if (newest === undefined)
    throw new CorruptStoreError(
      path,
      undefined,
      'recovery point file is damaged: both slots fail their checksum',
      {
        path,
        offset: 0,
        check: 'recovery-point',
      },
    );
  return { ...newest, tornSlot: valid.length < 2 };
}

/** The open mark file of a writer: each {@link write} is one pwrite + fdatasync. */
export class RecoveryPointFile {
  private constructor(
    private readonly fh: FileHandle,
    private generation: bigint,
  ) {}

  /** Opens the mark at `path`, creating it (atomically) with `initial` when absent. */
  static async open(path: string, loaded: LoadedRecoveryPoint | undefined, initial: RecoveryPoint) {
    if (loaded === undefined) {
      const bytes = Buffer.alloc(FILE_BYTES);
      encodeSlot(bytes, 0, 0n, initial);
      encodeSlot(bytes, SLOT_STRIDE, 1n, initial);
      await writeFileAtomic(path, bytes);
    }
    const fh = await open(path, 'r+');
    return new RecoveryPointFile(fh, loaded?.generation ?? 1n);
  }

  /** Durably replaces the mark. Call only once everything up to `point` is fdatasynced. */
  async write(point: RecoveryPoint): Promise<void> {
    const generation = this.generation + 1n;
    const slot = Buffer.alloc(SLOT_BYTES);
    encodeSlot(slot, 0, generation, point);
    // The slot the older generation is in: the newest mark stays intact until this lands.
    await this.fh.write(slot, 0, SLOT_BYTES, Number(generation % 2n) * SLOT_STRIDE);
    await this.fh.datasync();
    this.generation = generation;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

function encodeSlot(into: Buffer, at: number, generation: bigint, point: RecoveryPoint): void {
  into.writeUInt32BE(MAGIC, at);
  into.writeUInt16BE(VERSION, at + 4);
  into.writeBigUInt64BE(generation, at + 8);
  into.writeBigUInt64BE(point.segmentFirstSeq, at + 16);
  into.writeBigUInt64BE(BigInt(point.endOffset), at + 24);
  into.writeBigUInt64BE(point.lastSeq, at + 32);
  into.writeBigUInt64BE(0n, at + 40); // reserved
  into.writeBigUInt64BE(xxh64(into.subarray(at, at + CHECKED_BYTES)), at + CHECKED_BYTES);
}

function decodeSlot(slot: Buffer): { point: RecoveryPoint; generation: bigint } | undefined {
  if (slot.length < SLOT_BYTES) return undefined;
  if (slot.readUInt32BE(0) !== MAGIC || slot.readUInt16BE(4) !== VERSION) return undefined;
  if (xxh64(slot.subarray(0, CHECKED_BYTES)) !== slot.readBigUInt64BE(CHECKED_BYTES)) return undefined;
  const endOffset = slot.readBigUInt64BE(24);
  if (endOffset > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return {
    generation: slot.readBigUInt64BE(8),
    point: {
      segmentFirstSeq: slot.readBigUInt64BE(16),
      endOffset: Number(endOffset),
      lastSeq: slot.readBigUInt64BE(32),
    },
  };
}
