/** Builders for entries and records shared by the tests. */
import type { EntryFields } from '../../src/core/entry-codec.js';
import { encodeRecord, type BatchRecord } from '../../src/core/record-codec.js';
import type { Compression } from '../../src/core/compression.js';
import { epoch as toEpoch, seq as toSeq } from '../../src/core/types.js';
import { nativeZstd } from '../../src/compression/zstd.js';
import { xxh64 } from '@node-rs/xxhash';
import { HEADER_BYTES } from '../../src/core/record-codec.js';

const encoder = new TextEncoder();

export function fields(
  seqValue: bigint,
  epochValue = 1n,
  key = `k${seqValue}`,
  value = `v${seqValue}`,
): EntryFields {
  return {
    seq: toSeq(seqValue),
    epoch: toEpoch(epochValue),
    ts: 1_700_000_000_000 + Number(seqValue % 1_000_000n),
    type: 'put',
    key,
    value: encoder.encode(value),
  };
}

export function testCompression(): Compression {
  const native = nativeZstd();
  if (native === undefined) throw new Error('zstd-napi did not build: the native path is required in tests');
  return native;
}

/** A record of `count` entries from `firstSeq` under `epochValue`. */
export function makeRecord(
  firstSeq: bigint,
  count: number,
  epochValue = 1n,
  compression = testCompression(),
): BatchRecord {
  const entries = Array.from({ length: count }, (_, i) => fields(firstSeq + BigInt(i), epochValue));
  return encodeRecord({ epoch: toEpoch(epochValue), entries, compression }).record;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Deterministic incompressible bytes (xorshift32), so tests never depend on Math.random. */
export function randomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * A record whose header (with a valid header checksum) claims a 950 KiB body: what a
 * hostile or buggy writer could send. The codec never produces one.
 */
export function oversizedRecord(firstSeq: bigint): BatchRecord {
  const base = makeRecord(firstSeq, 1);
  const bodyBytes = 950 * 1024;
  const bytes = new Uint8Array(HEADER_BYTES + bodyBytes);
  bytes.set(base.bytes.subarray(0, HEADER_BYTES));
  const view = new DataView(bytes.buffer);
  view.setUint8(5, 0);
  view.setUint32(28, bodyBytes);
  view.setUint32(32, bodyBytes);
  view.setBigUint64(36, xxh64(bytes.subarray(HEADER_BYTES)));
  view.setBigUint64(44, xxh64(bytes.subarray(0, 44)));
  return { ...base, bodyBytes, rawBytes: bodyBytes, bytes };
}
