/**
 * Entries and the record body, in canonical msgpack (see schemas/record-format.md).
 *
 * Every entry is `[seq, epoch, ts, type, key, value, checksum]`: seq, epoch and ts as
 * msgpack uint64 (0xcf), type and key as str, value as bin, checksum as bin8 of 8
 * big-endian bytes. The checksum is xxh64 over the bytes of the first six elements
 * exactly as they stand in the body, so a reader verifies it on a slice of the input
 * without re-encoding. Only the smallest header form of each str/bin/array is canonical;
 * anything else is rejected, so equal entries always have equal bytes.
 */
import { xxh64 } from '@node-rs/xxhash';
import { ByteWriter } from './byte-writer.js';
import { ChecksumMismatchError, InvalidInputError, MalformedError, TooLargeError } from './errors.js';
import {
  APPEND_VALUE_BYTES_MAX,
  KEY_BYTES_MAX,
  RECORD_ENTRIES_MAX,
  TYPE_BYTES_MAX,
  VALUE_BYTES_MAX,
} from './limits.js';
import type { Entry, Epoch, Op, Seq } from './types.js';
import { U64_MAX } from './types.js';

/** An entry before its checksum is computed. */
export interface EntryFields extends Op {
  readonly seq: Seq;
  readonly epoch: Epoch;
  readonly ts: number;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const scratch = new Uint8Array(KEY_BYTES_MAX * 3);

/** Smallest possible encoded entry: fixarray, 3 uint64, 3 one-byte headers, bin8 checksum. */
export const ENTRY_BYTES_MIN = 1 + 27 + 1 + 1 + 2 + 10;

/**
 * Throws {@link TooLargeError} or {@link InvalidInputError} unless `op` can be appended:
 * within the wire format's bounds, and its value at most {@link APPEND_VALUE_BYTES_MAX}
 * so that one record always holds it.
 */
export function validateOp(op: Op): void {
  validateOpShape(op);
  if (op.value.length > APPEND_VALUE_BYTES_MAX)
    throw new TooLargeError('value', op.value.length, APPEND_VALUE_BYTES_MAX);
  checkUtf8Length(op.type, TYPE_BYTES_MAX, 'type');
  checkUtf8Length(op.key, KEY_BYTES_MAX, 'key');
}

/** utf8Length's bound without the encoding when the UTF-16 length already proves it. */
function checkUtf8Length(value: string, bytesMax: number, field: string): void {
  // A UTF-16 code unit takes at most 3 UTF-8 bytes.
  if (value.length * 3 > bytesMax) utf8Length(value, bytesMax, field);
}

/** Every check of {@link validateOp} that needs no UTF-8 encoding. */
function validateOpShape(op: Op): void {
  if (typeof op.type !== 'string' || op.type.length === 0)
    throw new InvalidInputError('type', 'must be a non-empty string');
  if (typeof op.key !== 'string') throw new InvalidInputError('key', 'must be a string');
  if (!(op.value instanceof Uint8Array)) throw new InvalidInputError('value', 'must be bytes (Uint8Array)');
  if (!op.type.isWellFormed())
    throw new InvalidInputError('type', 'is not well-formed UTF-16 (lone surrogate)');
  if (!op.key.isWellFormed())
    throw new InvalidInputError('key', 'is not well-formed UTF-16 (lone surrogate)');
  if (op.value.length > VALUE_BYTES_MAX) throw new TooLargeError('value', op.value.length, VALUE_BYTES_MAX);
}

/** Upper bound of an entry's encoded size, for budgeting batches before encoding. */
export function entryBytesEstimate(op: Op): number {
  return ENTRY_BYTES_MIN + 10 + op.type.length * 3 + op.key.length * 3 + op.value.length;
}

/**
 * Encodes `entries` as the record body (a msgpack array), computing each entry's
 * checksum. Returns the body and the checksums in entry order.
 */
export function encodeBody(entries: readonly EntryFields[]): { body: Uint8Array; checksums: bigint[] } {
  if (entries.length > RECORD_ENTRIES_MAX)
    throw new TooLargeError('record entry count', entries.length, RECORD_ENTRIES_MAX);
  let estimate = 5;
  for (const entry of entries) estimate += entryBytesEstimate(entry);
  const writer = new ByteWriter(estimate);
  writeArrayHeader(writer, entries.length);
  const checksums: bigint[] = [];
  for (const entry of entries) checksums.push(writeEntry(writer, entry));
  return { body: writer.view_(), checksums };
}

/** Computes an entry's checksum (the writer's end-to-end token) without a body. */
export function entryChecksum(fields: EntryFields): bigint {
  const writer = new ByteWriter(entryBytesEstimate(fields));
  writeFields(writer, fields);
  return xxh64(writer.view_());
}

function writeEntry(writer: ByteWriter, entry: EntryFields): bigint {
  writer.u8(0x97);
  const start = writer.length;
  writeFields(writer, entry);
  const checksum = xxh64(writer.view_().subarray(start));
  writer.u8(0xc4);
  writer.u8(8);
  writer.u64(checksum);
  return checksum;
}

function writeFields(writer: ByteWriter, entry: EntryFields): void {
  // Byte bounds of type and key are enforced by writeStr, which encodes each once.
  validateOpShape(entry);
  if (!Number.isSafeInteger(entry.ts) || entry.ts < 0)
    throw new InvalidInputError('ts', `${entry.ts} is not a non-negative safe integer of ms`);
  writeU64(writer, entry.seq);
  writeU64(writer, entry.epoch);
  writeU64(writer, BigInt(entry.ts));
  writeStr(writer, entry.type, TYPE_BYTES_MAX, 'type');
  writeStr(writer, entry.key, KEY_BYTES_MAX, 'key');
  writeBin(writer, entry.value);
}

function writeU64(writer: ByteWriter, value: bigint): void {
  if (value < 0n || value > U64_MAX) throw new InvalidInputError('u64', `${value} is outside u64`);
  writer.u8(0xcf);
  writer.u64(value);
}

function writeStr(writer: ByteWriter, value: string, bytesMax: number, field: string): void {
  const bytes = scratch.subarray(0, utf8Length(value, bytesMax, field));
  const written = bytes.length;
  if (written < 32) {
    writer.u8(0xa0 | written);
  } else if (written < 0x100) {
    writer.u8(0xd9);
    writer.u8(written);
  } else {
    writer.u8(0xda);
    writer.u16(written);
  }
  writer.bytes(bytes);
}

function writeBin(writer: ByteWriter, value: Uint8Array): void {
  const n = value.length;
  if (n < 0x100) {
    writer.u8(0xc4);
    writer.u8(n);
  } else if (n < 0x10000) {
    writer.u8(0xc5);
    writer.u16(n);
  } else {
    writer.u8(0xc6);
    writer.u32(n);
  }
  writer.bytes(value);
}

function writeArrayHeader(writer: ByteWriter, count: number): void {
  if (count < 16) {
    writer.u8(0x90 | count);
  } else if (count < 0x10000) {
    writer.u8(0xdc);
    writer.u16(count);
  } else {
    writer.u8(0xdd);
    writer.u32(count);
  }
}

function utf8Length(value: string, bytesMax: number, field: string): number {
  // UTF-8 never takes fewer bytes than UTF-16 code units, so this bounds the work.
  if (value.length > bytesMax) throw new TooLargeError(field, value.length, bytesMax);
  const { written } = utf8Encoder.encodeInto(value, scratch);
  if (written > bytesMax) throw new TooLargeError(field, written, bytesMax);
  return written;
}

/** What the body must agree with: the record header's claims. */
export interface BodyExpectation {
  readonly epoch: Epoch;
  readonly firstSeq: Seq;
  readonly entryCount: number;
}

/**
 * Decodes and verifies a record body. Every length is checked against the remaining
 * bytes and the caps before use; entry seqs must run from firstSeq, every entry carries
 * the header's epoch, and every entry checksum must match. `value`s are views into
 * `body`: copy what outlives the record. Throws {@link MalformedError},
 * {@link ChecksumMismatchError}, or {@link TooLargeError}; never loops past the input.
 */
export function decodeBody(body: Uint8Array, expect: BodyExpectation): Entry[] {
  const reader = new BodyReader(body);
  const count = reader.arrayHeader();
  if (count !== expect.entryCount)
    throw new MalformedError(`body: ${count} entries, header says ${expect.entryCount}`, 0);
  if (count * ENTRY_BYTES_MIN > body.length)
    throw new MalformedError('body: entry count exceeds its bytes', 0);
  const entries: Entry[] = new Array<Entry>(count);
  for (let entryIndex = 0; entryIndex < count; entryIndex++) {
    const entry = reader.entry();
    const wantSeq = expect.firstSeq + BigInt(entryIndex);
    if (entry.seq !== wantSeq)
      throw new MalformedError(`body: entry ${entryIndex} has seq ${entry.seq}, expected ${wantSeq}`);
    if (entry.epoch !== expect.epoch)
      throw new MalformedError(
        `body: entry seq ${entry.seq} has epoch ${entry.epoch}, record epoch ${expect.epoch}`,
      );
    entries[entryIndex] = entry;
  }
  if (reader.offset !== body.length) throw new MalformedError('body: trailing bytes', reader.offset);
  return entries;
}

class BodyReader {
  offset = 0;
  private readonly view: DataView;

  private readonly bytes: Uint8Array;

  constructor(body: Uint8Array) {
    // A plain Uint8Array over the same memory: the body is often a Buffer (from zstd),
    // and a Buffer's subarray costs several times a Uint8Array's, once per field.
    this.bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  }

  entry(): Entry {
    const at = this.offset;
    if (this.u8() !== 0x97) throw new MalformedError('entry: expected a 7-element array', at);
    const start = this.offset;
    const seq = this.u64() as Seq;
    const epoch = this.u64() as Epoch;
    const tsBig = this.u64();
    if (tsBig > BigInt(Number.MAX_SAFE_INTEGER))
      throw new MalformedError('entry: ts beyond 2^53', start + 18);
    const type = this.str(TYPE_BYTES_MAX, 'type');
    if (type.length === 0) throw new MalformedError('entry: empty type', this.offset);
    const key = this.str(KEY_BYTES_MAX, 'key');
    const value = this.bin();
    const end = this.offset;
    if (this.u8() !== 0xc4 || this.u8() !== 8)
      throw new MalformedError('entry: checksum must be bin8 of 8 bytes', end);
    this.need(8);
    const checksum = this.view.getBigUint64(this.offset);
    this.offset += 8;
    const actual = xxh64(this.bytes.subarray(start, end));
    if (actual !== checksum) throw new ChecksumMismatchError('entry', seq, checksum, actual);
    return { seq, epoch, ts: Number(tsBig), type, key, value, checksum };
  }

  arrayHeader(): number {
    const at = this.offset;
    const tag = this.u8();
    let count: number;
    if ((tag & 0xf0) === 0x90) count = tag & 0x0f;
    else if (tag === 0xdc) count = this.u16();
    else if (tag === 0xdd) count = this.u32();
    else throw new MalformedError('body: expected an array', at);
    const canonical = count < 16 ? tag === (0x90 | count) : count < 0x10000 ? tag === 0xdc : tag === 0xdd;
    if (!canonical) throw new MalformedError('body: non-canonical array header', at);
    if (count > RECORD_ENTRIES_MAX) throw new TooLargeError('record entry count', count, RECORD_ENTRIES_MAX);
    return count;
  }

  private str(bytesMax: number, field: string): string {
    const at = this.offset;
    const tag = this.u8();
    let n: number;
    if ((tag & 0xe0) === 0xa0) n = tag & 0x1f;
    else if (tag === 0xd9) n = this.u8();
    else if (tag === 0xda) n = this.u16();
    else throw new MalformedError(`entry: ${field} must be a str`, at);
    const canonical = n < 32 ? tag === (0xa0 | n) : n < 0x100 ? tag === 0xd9 : tag === 0xda;
    if (!canonical) throw new MalformedError(`entry: non-canonical ${field} header`, at);
    if (n > bytesMax) throw new TooLargeError(field, n, bytesMax);
    this.need(n);
    const slice = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    try {
      return utf8Decoder.decode(slice);
    } catch (cause) {
      throw new MalformedError(`entry: ${field} is not UTF-8`, at, { cause });
    }
  }

  private bin(): Uint8Array {
    const at = this.offset;
    const tag = this.u8();
    let n: number;
    if (tag === 0xc4) n = this.u8();
    else if (tag === 0xc5) n = this.u16();
    else if (tag === 0xc6) n = this.u32();
    else throw new MalformedError('entry: value must be bin', at);
    const canonical = n < 0x100 ? tag === 0xc4 : n < 0x10000 ? tag === 0xc5 : tag === 0xc6;
    if (!canonical) throw new MalformedError('entry: non-canonical value header', at);
    if (n > VALUE_BYTES_MAX) throw new TooLargeError('value', n, VALUE_BYTES_MAX);
    this.need(n);
    const value = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return value;
  }

  private u64(): bigint {
    const at = this.offset;
    if (this.u8() !== 0xcf) throw new MalformedError('entry: expected uint64', at);
    this.need(8);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return value;
  }

  private u8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }

  private u16(): number {
    this.need(2);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  private u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.bytes.length) throw new MalformedError('body: truncated', this.offset);
  }
}
