/**
 * Proves the record codec round-trips any valid batch (property-based), that its body
 * is plain msgpack readable by @msgpack/msgpack, that u64 edges survive, and that bad
 * input to the encoder gets a typed error.
 */
import { decode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EntryFields } from '../../src/core/entry-codec.js';
import type { OplogError } from '../../src/core/errors.js';
import { InvalidInputError, TooLargeError } from '../../src/core/errors.js';
import { KEY_BYTES_MAX, RECORD_BYTES_MAX, TYPE_BYTES_MAX, VALUE_BYTES_MAX } from '../../src/core/limits.js';
import { HEADER_BYTES, decodeRecord, encodeRecord } from '../../src/core/record-codec.js';
import { epoch, seq } from '../../src/core/types.js';
import { fields, randomBytes, testCompression } from '../helpers/entries.js';

const compression = testCompression();
const U64_MAX = (1n << 64n) - 1n;

const opArb = fc.record({
  type: fc
    .string({ minLength: 1, maxLength: 20 })
    .filter((s) => s.isWellFormed() && new TextEncoder().encode(s).length <= TYPE_BYTES_MAX),
  key: fc.string({ maxLength: 60, unit: 'grapheme' }),
  value: fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.constant(new TextEncoder().encode('{"a":1}'.repeat(50))),
  ),
  ts: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
});

const batchArb = fc.record({
  firstSeq: fc.bigInt({ min: 1n, max: U64_MAX - 300n }),
  epoch: fc.bigInt({ min: 0n, max: U64_MAX }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 40 }),
});

function toFields(b: {
  firstSeq: bigint;
  epoch: bigint;
  ops: { type: string; key: string; value: Uint8Array; ts: number }[];
}): EntryFields[] {
  return b.ops.map((op, i) => ({ ...op, seq: seq(b.firstSeq + BigInt(i)), epoch: epoch(b.epoch) }));
}

describe('record codec', () => {
  it('round-trips random batches, and @msgpack/msgpack reads the same body', () => {
    fc.assert(
      fc.property(batchArb, (b) => {
        const entries = toFields(b);
        const { record, checksums } = encodeRecord({
          epoch: epoch(b.epoch),
          entries,
          compression,
          compressBytesMin: 1 << 30,
        });
        const decoded = decodeRecord(record.bytes, compression).entries;
        expect(decoded.map((e) => e.checksum)).toEqual(checksums);
        expect(
          decoded.map(({ checksum: _c, ...rest }) => ({ ...rest, value: Array.from(rest.value) })),
        ).toEqual(entries.map((e) => ({ ...e, value: Array.from(e.value) })));
        const generic = decode(record.bytes.subarray(HEADER_BYTES), { useBigInt64: true }) as unknown[][];
        expect(generic.length).toBe(entries.length);
        generic.forEach((row, i) => {
          expect(row[0]).toBe(entries[i]!.seq);
          expect(row[1]).toBe(entries[i]!.epoch);
          expect(BigInt(row[2] as bigint)).toBe(BigInt(entries[i]!.ts));
          expect(row[3]).toBe(entries[i]!.type);
          expect(row[4]).toBe(entries[i]!.key);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips compressed batches', () => {
    fc.assert(
      fc.property(batchArb, (b) => {
        const entries = toFields(b);
        const { record } = encodeRecord({ epoch: epoch(b.epoch), entries, compression, compressBytesMin: 0 });
        const decoded = decodeRecord(record.bytes, compression).entries;
        expect(decoded.map((e) => Buffer.from(e.value).toString('hex'))).toEqual(
          entries.map((e) => Buffer.from(e.value).toString('hex')),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('keeps seq and epoch as bigint at 0, 2^32, 2^53+1 and 2^64-1', () => {
    for (const value of [0n, 1n << 32n, (1n << 53n) + 1n, U64_MAX]) {
      const s = value === 0n ? 1n : value;
      const { record } = encodeRecord({
        epoch: epoch(value),
        entries: [{ ...fields(s, value) }],
        compression,
      });
      const [entry] = decodeRecord(record.bytes, compression).entries;
      expect(typeof entry!.seq).toBe('bigint');
      expect(entry!.seq).toBe(s);
      expect(entry!.epoch).toBe(value);
      expect(record.firstSeq).toBe(s);
    }
  });

  it('compresses compressible bodies and leaves tiny ones alone', () => {
    const json = Array.from({ length: 64 }, (_, i) =>
      fields(BigInt(i + 1), 1n, `k${i}`, JSON.stringify({ i, pad: 'x'.repeat(200) })),
    );
    expect(encodeRecord({ epoch: epoch(1n), entries: json, compression }).record.codec).toBe(1);
    expect(encodeRecord({ epoch: epoch(1n), entries: [fields(1n)], compression }).record.codec).toBe(0);
  });

  it('rejects bad input with typed errors', () => {
    const bad: [Partial<EntryFields>, new (...args: never[]) => OplogError][] = [
      [{ type: '' }, InvalidInputError],
      [{ type: 't'.repeat(TYPE_BYTES_MAX + 1) }, TooLargeError],
      [{ key: 'k'.repeat(KEY_BYTES_MAX + 1) }, TooLargeError],
      [{ key: 'é'.repeat(KEY_BYTES_MAX / 2 + 1) }, TooLargeError],
      [{ key: '\ud800' }, InvalidInputError],
      [{ value: new Uint8Array(VALUE_BYTES_MAX + 1) }, TooLargeError],
      [{ ts: -1 }, InvalidInputError],
      [{ ts: 1.5 }, InvalidInputError],
    ];
    for (const [patch, errorClass] of bad) {
      expect(() =>
        encodeRecord({ epoch: epoch(1n), entries: [{ ...fields(1n), ...patch }], compression }),
      ).toThrow(errorClass);
    }
    expect(() => encodeRecord({ epoch: epoch(1n), entries: [], compression })).toThrow(InvalidInputError);
    expect(() => encodeRecord({ epoch: epoch(1n), entries: [fields(1n), fields(3n)], compression })).toThrow(
      InvalidInputError,
    );
    expect(() => encodeRecord({ epoch: epoch(2n), entries: [fields(1n, 1n)], compression })).toThrow(
      InvalidInputError,
    );
  });

  it('refuses a record over the stored cap with TooLargeError, and accepts one just under it', () => {
    const random = (n: number) => randomBytes(n);
    const over = [fields(1n, 1n, 'k', ''), fields(2n, 1n, 'k', '')].map((f, i) => ({
      ...f,
      value: randomBytes(RECORD_BYTES_MAX / 2, i + 1),
    }));
    expect(() => encodeRecord({ epoch: epoch(1n), entries: over, compression })).toThrow(TooLargeError);
    const under = [{ ...fields(1n), value: random(RECORD_BYTES_MAX - 200) }];
    expect(
      encodeRecord({ epoch: epoch(1n), entries: under, compression }).record.bytes.length,
    ).toBeLessThanOrEqual(RECORD_BYTES_MAX);
  });

  it('a number where a seq belongs is a type error', () => {
    // @ts-expect-error: seq is a branded bigint, never a JS number
    const wrong: EntryFields = { ...fields(1n), seq: 1 };
    expect(typeof wrong.seq).toBe('number');
  });
});
