/**
 * Walks the records of one segment file. A segment is records back to back, each
 * self-delimiting (the header carries its length and its own checksum), so a scan
 * needs no framing of its own: it reads a page, parses headers, verifies bodies, and
 * stops at the first record that is incomplete or fails verification.
 */
import type { FileHandle } from 'node:fs/promises';
import {
  HEADER_BYTES,
  RECORD_MAGIC,
  parseHeaderPrefix,
  verifyRecord,
  type VerifiedRecord,
} from '../../core/record-codec.js';
import { ChecksumMismatchError, TooLargeError, UnsupportedVersionError } from '../../core/errors.js';
import { RECORD_BYTES_MAX } from '../../core/limits.js';

export type ScanItem =
  | { readonly kind: 'record'; readonly offset: number; readonly record: VerifiedRecord }
  /** Nothing (or not all of a record) is stored past `offset` yet. */
  | { readonly kind: 'incomplete'; readonly offset: number }
  /** Bytes at `offset` are not a valid record. */
  | { readonly kind: 'invalid'; readonly offset: number; readonly error: unknown };

const PAGE_BYTES = 1024 * 1024;

/** Yields the records in `[fromOffset, endOffset)`, then one non-record item if it stopped early. */
export async function* scanSegment(
  fh: FileHandle,
  fromOffset: number,
  endOffset: number,
): AsyncGenerator<ScanItem> {
  let buffer: Buffer = Buffer.alloc(0);
  let bufferOffset = fromOffset;
  let offset = fromOffset;
  while (offset < endOffset) {
    const want = Math.min(HEADER_BYTES, endOffset - offset);
    if (offset + want > bufferOffset + buffer.length) {
      ({ buffer, bufferOffset } = await readPage(fh, offset, endOffset, PAGE_BYTES));
    }
    // The file may be shorter than endOffset said (a concurrent truncation): incomplete.
    if (endOffset - offset < HEADER_BYTES || bufferOffset + buffer.length - offset < HEADER_BYTES) {
      yield { kind: 'incomplete', offset };
      return;
    }
    let recordBytes: number;
    try {
      recordBytes = HEADER_BYTES + parseHeaderPrefix(buffer.subarray(offset - bufferOffset)).bodyBytes;
    } catch (error) {
      yield { kind: 'invalid', offset, error };
      return;
    }
    if (offset + recordBytes > endOffset) {
      yield { kind: 'incomplete', offset };
      return;
    }
    if (offset + recordBytes > bufferOffset + buffer.length) {
      ({ buffer, bufferOffset } = await readPage(fh, offset, endOffset, Math.max(PAGE_BYTES, recordBytes)));
      if (buffer.length < recordBytes) {
        yield { kind: 'incomplete', offset };
        return;
      }
    }
    const start = offset - bufferOffset;
    try {
      // Copy out of the page buffer: callers keep records after the page is reused.
      const record = verifyRecord(Uint8Array.prototype.slice.call(buffer, start, start + recordBytes));
      yield { kind: 'record', offset, record };
    } catch (error) {
      yield { kind: 'invalid', offset, error };
      return;
    }
    offset += recordBytes;
  }
}

async function readPage(
  fh: FileHandle,
  offset: number,
  endOffset: number,
  bytes: number,
): Promise<{ buffer: Buffer; bufferOffset: number }> {
  const length = Math.min(bytes, endOffset - offset);
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await fh.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return { buffer: buffer.subarray(0, filled), bufferOffset: offset };
}

/**
 * After a bad record at `badOffset`: is there a valid record anywhere later in
 * `[badOffset + 1, endOffset)`? Yes means corruption in the middle of the log (never
 * truncate); no means a torn tail (safe to cut). Looks for the magic, then verifies.
 */
export async function validRecordAfter(
  fh: FileHandle,
  badOffset: number,
  endOffset: number,
): Promise<number | undefined> {
  const magic = Buffer.alloc(4);
  magic.writeUInt32BE(RECORD_MAGIC);
  const windowBytes = PAGE_BYTES + RECORD_BYTES_MAX;
  for (let from = badOffset + 1; from < endOffset; from += PAGE_BYTES) {
    const { buffer } = await readPage(fh, from, endOffset, windowBytes);
    for (let at = buffer.indexOf(magic); at >= 0 && at < PAGE_BYTES; at = buffer.indexOf(magic, at + 1)) {
      const header = tryHeader(buffer.subarray(at));
      if (header === undefined || at + header > buffer.length) continue;
      try {
        verifyRecord(buffer.subarray(at, at + header));
        return from + at;
      } catch {
        // Not a record: keep looking.
      }
    }
  }
  return undefined;
}

function tryHeader(bytes: Uint8Array): number | undefined {
  try {
    return HEADER_BYTES + parseHeaderPrefix(bytes).bodyBytes;
  } catch {
    return undefined;
  }
}

/** Which check a record failed, for reports and errors. */
export type RecordCheck = 'incomplete' | 'header' | 'version' | 'length' | 'body-checksum';

/** The check that a non-record scan item failed. */
export function failedCheck(item: Exclude<ScanItem, { kind: 'record' }>): RecordCheck {
  if (item.kind === 'incomplete') return 'incomplete';
  const error = item.error;
  if (error instanceof ChecksumMismatchError)
    return error.what === 'record-body' ? 'body-checksum' : 'header';
  if (error instanceof UnsupportedVersionError) return 'version';
  if (error instanceof TooLargeError) return 'length';
  return 'header';
}

/**
 * The highest seq claimed by any intact header (valid header checksum) in
 * `[fromOffset, endOffset)`, or undefined. For reporting what a cut tail held: a torn
 * record's header often survives its body.
 */
export async function highestClaimedSeq(
  fh: FileHandle,
  fromOffset: number,
  endOffset: number,
): Promise<bigint | undefined> {
  const magic = Buffer.alloc(4);
  magic.writeUInt32BE(RECORD_MAGIC);
  let highest: bigint | undefined;
  for (let from = fromOffset; from < endOffset; from += PAGE_BYTES) {
    const { buffer } = await readPage(fh, from, endOffset, PAGE_BYTES + HEADER_BYTES);
    for (let at = buffer.indexOf(magic); at >= 0 && at < PAGE_BYTES; at = buffer.indexOf(magic, at + 1)) {
      try {
        const header = parseHeaderPrefix(buffer.subarray(at));
        if (highest === undefined || header.lastSeq > highest) highest = header.lastSeq;
      } catch {
        // Not an intact header: keep looking.
      }
    }
  }
  return highest;
}
