/**
 * Proves both zstd paths work and interoperate: frames from the native binding
 * decompress with the WASM build and vice versa, records encoded on one decode on the
 * other, and both handle the largest body the format allows.
 */
import { describe, expect, it } from 'vitest';
import { RAW_BODY_BYTES_MAX } from '../../src/core/limits.js';
import { zstdFrameContentBytes } from '../../src/core/zstd-frame.js';
import { decodeRecord, encodeRecord } from '../../src/core/record-codec.js';
import { epoch } from '../../src/core/types.js';
import { nativeZstd, wasmZstd } from '../../src/compression/zstd.js';
import { fields, randomBytes } from '../helpers/entries.js';

describe('zstd paths', async () => {
  const native = nativeZstd();
  const wasm = await wasmZstd();

  it('the native binding built on this machine', () => {
    expect(native?.name).toBe('zstd-napi');
  });

  it('frames interoperate both ways and declare their content size', () => {
    const raw = new TextEncoder().encode('{"user":"a","roles":["r","w"]}'.repeat(2000));
    for (const [from, to] of [
      [native!, wasm],
      [wasm, native!],
    ] as const) {
      const frame = from.compress(raw);
      expect(frame.length).toBeLessThan(raw.length / 10);
      expect(zstdFrameContentBytes(frame)).toBe(raw.length);
      expect(Buffer.from(to.decompress(frame, raw.length)).equals(Buffer.from(raw))).toBe(true);
    }
  });

  it('records encoded with one path decode with the other', () => {
    const entries = Array.from({ length: 50 }, (_, i) =>
      fields(BigInt(i + 1), 1n, `k${i}`, JSON.stringify({ i, s: 'abc'.repeat(30) })),
    );
    for (const [from, to] of [
      [native!, wasm],
      [wasm, native!],
    ] as const) {
      const { record } = encodeRecord({ epoch: epoch(1n), entries, compression: from });
      expect(record.codec).toBe(1);
      expect(decodeRecord(record.bytes, to).entries.length).toBe(50);
    }
  });

  it('both handle the largest allowed body', () => {
    const raw = randomBytes(RAW_BODY_BYTES_MAX, 7);
    for (const path of [native!, wasm]) {
      const frame = path.compress(raw);
      expect(zstdFrameContentBytes(frame)).toBe(raw.length);
      expect(path.decompress(frame, raw.length).length).toBe(raw.length);
    }
  });
});
