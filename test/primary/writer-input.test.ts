/**
 * No single op stops the writer (DESIGN.md invariant 10): an op is refused alone with a
 * typed error and nothing written, and the next valid op is acknowledged. The per-value
 * cap APPEND_VALUE_BYTES_MAX is exactly what one record holds incompressible with the
 * largest type and key; limits that would let a batch outgrow a record are refused at
 * start. Fuzzed with seeded random sizes, types and keys (OPLOG_FUZZ_SEED=n replays one).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidInputError, TooLargeError } from '../../src/core/errors.js';
import {
  APPEND_VALUE_BYTES_MAX,
  KEY_BYTES_MAX,
  RECORD_BYTES_MAX,
  RECORD_HEADER_BYTES,
  TYPE_BYTES_MAX,
  VALUE_BYTES_MAX,
} from '../../src/core/limits.js';
import { encodeRecord, HEADER_BYTES } from '../../src/core/record-codec.js';
import { epoch, seq, type Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { testCompression } from '../helpers/entries.js';
import { Prng } from '../helpers/prng.js';

const compression = testCompression();
const valid = (i: number): Op => ({ type: 'put', key: `k${i}`, value: Buffer.from(`v${i}`) });

describe('the per-value cap', () => {
  it('is what one record holds incompressible with the largest type and key', () => {
    expect(RECORD_HEADER_BYTES).toBe(HEADER_BYTES);
    const entry = (valueBytes: number) => ({
      seq: seq(1n),
      epoch: epoch(1n),
      ts: Date.now(),
      type: 't'.repeat(TYPE_BYTES_MAX),
      key: 'k'.repeat(KEY_BYTES_MAX),
      value: randomBytes(valueBytes),
    });
    // Stored as is, as an incompressible body would be (the repeated key would compress).
    const plain = { epoch: epoch(1n), compression, compressBytesMin: Number.MAX_SAFE_INTEGER };
    const { record } = encodeRecord({ ...plain, entries: [entry(APPEND_VALUE_BYTES_MAX)] });
    expect(record.bytes.length).toBe(RECORD_BYTES_MAX);
    expect(() => encodeRecord({ ...plain, entries: [entry(APPEND_VALUE_BYTES_MAX + 1)] })).toThrow(
      TooLargeError,
    );
  });

  it('a 1 MiB incompressible value is refused alone; the writer goes on and the next append acks', async () => {
    const store = new MemoryLogStore();
    const writer = await PrimaryWriter.start({ stores: [store], compression });
    const big = writer.append({ type: 'put', key: 'big', value: randomBytes(1024 * 1024) });
    const next = writer.append(valid(1));
    await expect(big).rejects.toBeInstanceOf(TooLargeError);
    await expect(big).rejects.toMatchObject({ what: 'value', bytesMax: APPEND_VALUE_BYTES_MAX });
    expect(await next).toBe(1n);
    expect(writer.state).toBe('running');
    const atCap = await writer.append({
      type: 't'.repeat(TYPE_BYTES_MAX),
      key: 'k'.repeat(KEY_BYTES_MAX),
      value: randomBytes(APPEND_VALUE_BYTES_MAX),
    });
    expect(atCap).toBe(2n);
    expect((await store.head()).lastSeq).toBe(2n);
    await writer.close();
  });

  it('limits under which a batch could outgrow a record are a ConfigError before anything is fenced', async () => {
    const store = new MemoryLogStore();
    for (const limits of [
      { batchBytesMax: RECORD_BYTES_MAX },
      { batchEntriesMax: 100_000 },
      { pipelineDepth: 0 },
      { lingerMs: 1.5 },
      { queueEntriesMax: Number.NaN },
    ]) {
      await expect(PrimaryWriter.start({ stores: [store], compression, limits })).rejects.toBeInstanceOf(
        ConfigError,
      );
    }
    expect(await store.currentEpoch()).toBe(0n);
  });
});

/** A random op, valid or not; the test learns which from the writer. */
function randomOp(prng: Prng): Op {
  const size = [
    0,
    1,
    200,
    60_000,
    APPEND_VALUE_BYTES_MAX,
    APPEND_VALUE_BYTES_MAX + 1,
    1 << 20,
    VALUE_BYTES_MAX + 1,
  ];
  const valueBytes = prng.chance(0.5) ? prng.int(0, 2_000) : size[prng.int(0, size.length - 1)]!;
  const value = prng.chance(0.5) ? randomBytes(valueBytes) : new Uint8Array(valueBytes);
  const types = [
    'put',
    'delete',
    '',
    't'.repeat(TYPE_BYTES_MAX),
    't'.repeat(TYPE_BYTES_MAX + 1),
    'é'.repeat(33),
    '\ud800',
  ];
  const keys = [
    '',
    'k',
    'k'.repeat(KEY_BYTES_MAX),
    'k'.repeat(KEY_BYTES_MAX + 1),
    '€'.repeat(1366),
    'a\udfffb',
  ];
  const op = { type: types[prng.int(0, types.length - 1)]!, key: keys[prng.int(0, keys.length - 1)]!, value };
  if (prng.chance(0.03)) return { ...op, value: 'not bytes' as unknown as Uint8Array };
  return op;
}

describe('writer fuzz', () => {
  const seeds = process.env.OPLOG_FUZZ_SEED ? [Number(process.env.OPLOG_FUZZ_SEED)] : [1, 2, 3];
  it.each(seeds)(
    'seed %i: every refused op is refused alone, typed; every accepted one acks in order',
    async (seed) => {
      const prng = new Prng(seed);
      const store = new MemoryLogStore();
      const writer = await PrimaryWriter.start({
        stores: [store],
        compression,
        limits: { batchEntriesMax: 16, lingerMs: 1 },
      });
      let refused = 0;
      let acked = 0n;
      for (let round = 0; round < 40; round++) {
        // A burst of mixed ops in flight together, so refused ones sit among accepted ones.
        const burst = Array.from({ length: 8 }, () => randomOp(prng));
        const results = await Promise.allSettled(burst.map((op) => writer.append(op)));
        for (const [i, result] of results.entries()) {
          if (result.status === 'fulfilled') {
            acked++;
            expect(result.value, `seed ${seed} round ${round} op ${i}`).toBe(acked);
          } else {
            refused++;
            expect(
              result.reason instanceof TooLargeError || result.reason instanceof InvalidInputError,
              `seed ${seed} round ${round} op ${i}: ${String(result.reason)}`,
            ).toBe(true);
          }
        }
        acked++;
        expect(await writer.append(valid(round)), `seed ${seed}: the valid op after round ${round}`).toBe(
          acked,
        );
      }
      expect(writer.state).toBe('running');
      expect(refused).toBeGreaterThan(0);
      expect((await store.head()).lastSeq).toBe(acked);
      await writer.close();
    },
  );
});
