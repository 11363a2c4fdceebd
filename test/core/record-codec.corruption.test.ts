/**
 * Proves corrupted bytes are detected and never decoded into entries: every single-bit
 * flip of stored records (plain and compressed) is caught, every truncation and random
 * garbage yields a typed OplogError, never a crash, a hang or a success.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OplogError } from '../../src/core/errors.js';
import { decodeRecord, encodeRecord } from '../../src/core/record-codec.js';
import { epoch } from '../../src/core/types.js';
import { fields, testCompression } from '../helpers/entries.js';

const compression = testCompression();

function decodeError(bytes: Uint8Array): unknown {
  try {
    decodeRecord(bytes, compression);
    return undefined;
  } catch (error) {
    return error;
  }
}

const plain = encodeRecord({
  epoch: epoch(3n),
  entries: [fields(10n, 3n), fields(11n, 3n), fields(12n, 3n)],
  compression,
}).record;
const compressed = encodeRecord({
  epoch: epoch(3n),
  entries: Array.from({ length: 20 }, (_, i) =>
    fields(BigInt(50 + i), 3n, `key-${i}`, JSON.stringify({ i, text: 'lorem ipsum '.repeat(5) })),
  ),
  compression,
}).record;

describe('record corruption', () => {
  it('fixtures are what they claim to be', () => {
    expect(plain.codec).toBe(0);
    expect(compressed.codec).toBe(1);
  });

  for (const [name, record] of [
    ['plain', plain],
    ['compressed', compressed],
  ] as const) {
    it(`detects every single-bit flip of a ${name} record (${record.bytes.length * 8} flips)`, () => {
      for (let bit = 0; bit < record.bytes.length * 8; bit++) {
        const bytes = Uint8Array.from(record.bytes);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
        const error = decodeError(bytes);
        if (!(error instanceof OplogError))
          throw new Error(`bit ${bit}: flip not detected (${String(error)})`);
      }
    });

    it(`rejects every truncation of a ${name} record with a typed error`, () => {
      for (let length = 0; length < record.bytes.length; length++) {
        expect(decodeError(record.bytes.subarray(0, length)), `length ${length}`).toBeInstanceOf(OplogError);
      }
      const longer = new Uint8Array(record.bytes.length + 1);
      longer.set(record.bytes);
      expect(decodeError(longer)).toBeInstanceOf(OplogError);
    });
  }

  it('rejects random garbage with a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect(decodeError(bytes)).toBeInstanceOf(OplogError);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects garbage that carries a valid header prefix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.nat(), (tail, cut) => {
        const bytes = new Uint8Array(Math.min(cut % 60, 52) + tail.length);
        bytes.set(plain.bytes.subarray(0, Math.min(cut % 60, 52)));
        bytes.set(tail, Math.min(cut % 60, 52));
        expect(decodeError(bytes)).toBeInstanceOf(OplogError);
      }),
      { numRuns: 2000 },
    );
  });
});
