/**
 * Proves the wire format is frozen: hex fixtures in test/fixtures/records decode to
 * the entries they describe on both zstd paths, and encoding those entries reproduces
 * the fixture bytes. Rewrite fixtures only on purpose: OPLOG_UPDATE_GOLDEN=1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord } from '../../src/core/record-codec.js';
import { epoch, seq } from '../../src/core/types.js';
import type { EntryFields } from '../../src/core/entry-codec.js';
import { nativeZstd, wasmZstd } from '../../src/compression/zstd.js';
import { hex } from '../helpers/entries.js';

const dir = join(import.meta.dirname, '../fixtures/records');
const update = process.env['OPLOG_UPDATE_GOLDEN'] === '1';
const text = new TextEncoder();

interface Vector {
  readonly name: string;
  readonly epoch: bigint;
  readonly entries: EntryFields[];
}

const U64_MAX = (1n << 64n) - 1n;
const vectors: Vector[] = [
  {
    name: 'single-put',
    epoch: 1n,
    entries: [
      {
        seq: seq(1n),
        epoch: epoch(1n),
        ts: 1_700_000_000_000,
        type: 'put',
        key: 'alpha',
        value: text.encode('one'),
      },
    ],
  },
  {
    name: 'put-delete-unicode',
    epoch: 7n,
    entries: [
      {
        seq: seq(41n),
        epoch: epoch(7n),
        ts: 1_700_000_000_001,
        type: 'put',
        key: 'ключ/日本',
        value: Uint8Array.from([0, 255, 1]),
      },
      {
        seq: seq(42n),
        epoch: epoch(7n),
        ts: 1_700_000_000_002,
        type: 'delete',
        key: 'ключ/日本',
        value: new Uint8Array(0),
      },
    ],
  },
  {
    name: 'u64-edges',
    epoch: U64_MAX,
    entries: [
      { seq: seq(U64_MAX - 1n), epoch: epoch(U64_MAX), ts: 0, type: 'x', key: '', value: new Uint8Array(0) },
      {
        seq: seq(U64_MAX),
        epoch: epoch(U64_MAX),
        ts: Number.MAX_SAFE_INTEGER,
        type: 'app.custom-type',
        key: 'k'.repeat(40),
        value: new Uint8Array(300).fill(9),
      },
    ],
  },
  {
    name: 'compressed-json',
    epoch: 2n,
    entries: Array.from({ length: 32 }, (_, i) => ({
      seq: seq(BigInt(100 + i)),
      epoch: epoch(2n),
      ts: 1_700_000_000_000 + i,
      type: 'put',
      key: `users/${i}`,
      value: text.encode(
        JSON.stringify({
          id: i,
          name: `user-${i}`,
          email: `user-${i}@example.com`,
          roles: ['reader', 'writer'],
        }),
      ),
    })),
  },
];

function plain(entries: readonly EntryFields[]): unknown[] {
  return entries.map((e) => ({ ...e, value: hex(e.value) }));
}

describe('golden record vectors', async () => {
  const native = nativeZstd()!;
  const wasm = await wasmZstd();
  for (const vector of vectors) {
    it(`${vector.name} encodes to its fixture and decodes back on both zstd paths`, () => {
      const path = join(dir, `${vector.name}.hex`);
      const encoded = encodeRecord({
        epoch: epoch(vector.epoch),
        entries: vector.entries,
        compression: native,
      }).record.bytes;
      if (update) writeFileSync(path, `${hex(encoded)}\n`);
      const fixture = Uint8Array.from(Buffer.from(readFileSync(path, 'utf8').trim(), 'hex'));
      expect(hex(encoded)).toBe(hex(fixture));
      for (const compression of [native, wasm]) {
        const { record, entries } = decodeRecord(fixture, compression);
        expect(record.firstSeq).toBe(vector.entries[0]!.seq);
        expect(plain(entries.map(({ checksum: _c, ...rest }) => rest))).toEqual(plain(vector.entries));
      }
    });
  }

  it('the compressed vector really is compressed and the small one is not', () => {
    const read = (name: string) => Buffer.from(readFileSync(join(dir, `${name}.hex`), 'utf8').trim(), 'hex');
    expect(read('compressed-json')[5]).toBe(1);
    expect(read('single-put')[5]).toBe(0);
  });
});
