/**
 * Batch records: a 52-byte big-endian header and a body (see schemas/record-format.md).
 *
 *   0  magic "OPLG"      4   version u8 (=1)    5  codec u8 (0 none, 1 zstd)
 *   6  flags u16 (=0)    8   epoch u64          16 firstSeq u64
 *   24 entryCount u32    28  bodyBytes u32      32 rawBytes u32
 *   36 bodyChecksum u64 (xxh64 of the stored body)
 *   44 headerChecksum u64 (xxh64 of bytes 0..44)
 *
 * The header checksum is ours (DESIGN.md names only the body's): without it a flipped
 * bit in epoch or firstSeq would pass the body check and be caught only by cross-checks.
 */
import { xxh64 } from '@node-rs/xxhash';
import type { Compression, CodecId } from './compression.js';
import { CODEC_NONE, CODEC_ZSTD } from './compression.js';
import type { EntryFields } from './entry-codec.js';
import { decodeBody, encodeBody } from './entry-codec.js';
import {
  ChecksumMismatchError,
  InvalidInputError,
  MalformedError,
  TooLargeError,
  UnsupportedVersionError,
} from './errors.js';
import { COMPRESS_BYTES_MIN, RAW_BODY_BYTES_MAX, RECORD_BYTES_MAX, RECORD_ENTRIES_MAX } from './limits.js';
import type { Entry, Epoch, Seq } from './types.js';
import { U64_MAX } from './types.js';
import { zstdFrameContentBytes } from './zstd-frame.js';

export const RECORD_MAGIC = 0x4f504c47; // "OPLG"
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 52;
const HEADER_CHECKED_BYTES = 44;

/** The parsed, verified header of a record. */
export interface RecordHeader {
  readonly version: number;
  readonly codec: CodecId;
  readonly epoch: Epoch;
  readonly firstSeq: Seq;
  readonly lastSeq: Seq;
  readonly entryCount: number;
  readonly bodyBytes: number;
  readonly rawBytes: number;
  readonly bodyChecksum: bigint;
}

/** A record as stores see it: its bytes and the header fields they index by. */
export interface BatchRecord extends RecordHeader {
  readonly bytes: Uint8Array;
}

export interface EncodeRecordInput {
  readonly epoch: Epoch;
  readonly entries: readonly EntryFields[];
  readonly compression: Compression;
  /** Bodies below this size stay uncompressed. Default {@link COMPRESS_BYTES_MIN}. */
  readonly compressBytesMin?: number;
}

/**
 * Encodes one record. Entries must be contiguous from entries[0].seq and all of
 * `epoch`. Throws {@link TooLargeError} when the stored record would exceed
 * {@link RECORD_BYTES_MAX} (the writer splits batches so this does not happen).
 */
export function encodeRecord(input: EncodeRecordInput): { record: BatchRecord; checksums: bigint[] } {
  const { epoch, entries, compression } = input;
  const first = entries[0];
  if (first === undefined) throw new InvalidInputError('record', 'must hold at least one entry');
  if (entries.length > RECORD_ENTRIES_MAX)
    throw new TooLargeError('record entry count', entries.length, RECORD_ENTRIES_MAX);
  entries.forEach((entry, entryIndex) => {
    if (entry.seq !== first.seq + BigInt(entryIndex))
      throw new InvalidInputError(
        'record',
        `entry ${entryIndex} has seq ${entry.seq}, not contiguous from ${first.seq}`,
      );
    if (entry.epoch !== epoch)
      throw new InvalidInputError(
        'record',
        `entry seq ${entry.seq} has epoch ${entry.epoch}, record epoch ${epoch}`,
      );
  });
  if (first.seq < 1n) throw new InvalidInputError('record', 'seqs start at 1');
  const { body: raw, checksums } = encodeBody(entries);
  if (raw.length > RAW_BODY_BYTES_MAX)
    throw new TooLargeError('record body (uncompressed)', raw.length, RAW_BODY_BYTES_MAX);
  let codec: CodecId = CODEC_NONE;
  let body = raw;
  if (raw.length >= (input.compressBytesMin ?? COMPRESS_BYTES_MIN)) {
    const compressed = compression.compress(raw);
    if (compressed.length < raw.length) {
      codec = CODEC_ZSTD;
      body = compressed;
    }
  }
  const recordBytes = HEADER_BYTES + body.length;
  if (recordBytes > RECORD_BYTES_MAX) throw new TooLargeError('record', recordBytes, RECORD_BYTES_MAX);
  const bytes = new Uint8Array(recordBytes);
  const header: RecordHeader = {
    version: FORMAT_VERSION,
    codec,
    epoch,
    firstSeq: first.seq,
    lastSeq: (first.seq + BigInt(entries.length - 1)) as Seq,
    entryCount: entries.length,
    bodyBytes: body.length,
    rawBytes: raw.length,
    bodyChecksum: xxh64(body),
  };
  writeHeader(bytes, header);
  bytes.set(body, HEADER_BYTES);
  return { record: { ...header, bytes }, checksums };
}

function writeHeader(bytes: Uint8Array, header: RecordHeader): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  view.setUint32(0, RECORD_MAGIC);
  view.setUint8(4, header.version);
  view.setUint8(5, header.codec);
  view.setUint16(6, 0);
  view.setBigUint64(8, header.epoch);
  view.setBigUint64(16, header.firstSeq);
  view.setUint32(24, header.entryCount);
  view.setUint32(28, header.bodyBytes);
  view.setUint32(32, header.rawBytes);
  view.setBigUint64(36, header.bodyChecksum);
  view.setBigUint64(44, xxh64(bytes.subarray(0, HEADER_CHECKED_BYTES)));
}

/**
 * Parses and verifies the header of `bytes`, which must be exactly one record. Checks
 * the magic, version, header checksum and every length against the caps and the
 * buffer. Does not read the body. Throws MalformedError, UnsupportedVersionError,
 * ChecksumMismatchError or TooLargeError.
 */
export function parseRecordHeader(bytes: Uint8Array): RecordHeader {
  const header = parseHeaderPrefix(bytes);
  if (bytes.length !== HEADER_BYTES + header.bodyBytes)
    throw new MalformedError(
      `record: ${bytes.length} bytes, header says ${HEADER_BYTES + header.bodyBytes}`,
      28,
    );
  return header;
}

/**
 * Like {@link parseRecordHeader} for a buffer that starts with a record and may hold
 * more (or less) after its header: for scanning a log file. The record's full length
 * is `HEADER_BYTES + bodyBytes`.
 */
export function parseHeaderPrefix(bytes: Uint8Array): RecordHeader {
  if (bytes.length < HEADER_BYTES)
    throw new MalformedError(`record: ${bytes.length} bytes, shorter than its header`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (view.getUint32(0) !== RECORD_MAGIC) throw new MalformedError('record: bad magic', 0);
  const version = view.getUint8(4);
  if (version !== FORMAT_VERSION) throw new UnsupportedVersionError('format', version);
  const expected = view.getBigUint64(44);
  const actual = xxh64(bytes.subarray(0, HEADER_CHECKED_BYTES));
  if (expected !== actual) throw new ChecksumMismatchError('record-header', undefined, expected, actual);
  const codec = view.getUint8(5);
  if (codec !== CODEC_NONE && codec !== CODEC_ZSTD) throw new UnsupportedVersionError('codec', codec);
  if (view.getUint16(6) !== 0) throw new MalformedError('record: reserved flags set', 6);
  const epoch = view.getBigUint64(8) as Epoch;
  const firstSeq = view.getBigUint64(16) as Seq;
  const entryCount = view.getUint32(24);
  const bodyBytes = view.getUint32(28);
  const rawBytes = view.getUint32(32);
  if (entryCount < 1 || entryCount > RECORD_ENTRIES_MAX)
    throw new MalformedError(`record: entry count ${entryCount}`, 24);
  if (firstSeq < 1n || firstSeq + BigInt(entryCount - 1) > U64_MAX)
    throw new MalformedError(`record: seq range from ${firstSeq}`, 16);
  if (HEADER_BYTES + bodyBytes > RECORD_BYTES_MAX)
    throw new TooLargeError('record', HEADER_BYTES + bodyBytes, RECORD_BYTES_MAX);
  if (rawBytes > RAW_BODY_BYTES_MAX)
    throw new TooLargeError('record body (uncompressed)', rawBytes, RAW_BODY_BYTES_MAX);
  if (codec === CODEC_NONE && rawBytes !== bodyBytes)
    throw new MalformedError('record: raw and body sizes differ without compression', 32);
  const lastSeq = (firstSeq + BigInt(entryCount - 1)) as Seq;
  return {
    version,
    codec,
    epoch,
    firstSeq,
    lastSeq,
    entryCount,
    bodyBytes,
    rawBytes,
    bodyChecksum: view.getBigUint64(36),
  };
}

declare const verified: unique symbol;

/**
 * A record whose header and body checksums {@link verifyRecord} checked against these
 * very bytes (a type-level mark, nothing at run time). Stores hand out only verified
 * records, so {@link decodeVerifiedRecord} does not hash the body again. Treat `bytes`
 * as immutable: a verified record whose bytes changed afterwards is no longer one.
 */
export type VerifiedRecord = BatchRecord & { readonly [verified]: true };

/** Verifies header and body checksums without decompressing; returns the record view. */
export function verifyRecord(bytes: Uint8Array): VerifiedRecord {
  const header = parseRecordHeader(bytes);
  const body = bytes.subarray(HEADER_BYTES);
  const actual = xxh64(body);
  if (actual !== header.bodyChecksum)
    throw new ChecksumMismatchError('record-body', header.firstSeq, header.bodyChecksum, actual);
  return { ...header, bytes } as VerifiedRecord;
}

/**
 * Verifies and decodes a record: header → body checksum → (decompress) → entries and
 * their checksums. Entry values are views into `bytes` or the decompressed body.
 */
export function decodeRecord(
  bytes: Uint8Array,
  compression: Compression,
): { record: VerifiedRecord; entries: Entry[] } {
  const record = verifyRecord(bytes);
  return { record, entries: decodeVerifiedRecord(record, compression) };
}

/**
 * Decodes a record that is already verified (from a store): (decompress) → entries and
 * their checksums, with no second hash of the body. Entry checksums are still checked:
 * they travel end to end from the writer.
 */
export function decodeVerifiedRecord(record: VerifiedRecord, compression: Compression): Entry[] {
  let raw = record.bytes.subarray(HEADER_BYTES);
  if (record.codec === CODEC_ZSTD) {
    const declared = zstdFrameContentBytes(raw);
    if (declared !== record.rawBytes)
      throw new MalformedError(
        `record: zstd frame declares ${declared} bytes, header says ${record.rawBytes}`,
        HEADER_BYTES,
      );
    try {
      raw = compression.decompress(raw, record.rawBytes);
    } catch (cause) {
      throw new MalformedError('record: zstd frame does not decompress', HEADER_BYTES, { cause });
    }
    if (raw.length !== record.rawBytes)
      throw new MalformedError(
        `record: decompressed to ${raw.length} bytes, header says ${record.rawBytes}`,
        HEADER_BYTES,
      );
  }
  return decodeBody(raw, record);
}
