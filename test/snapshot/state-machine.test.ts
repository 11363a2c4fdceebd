import { xxh64 } from '@node-rs/xxhash';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/types.js';
import { seq, epoch } from '../../src/core/types.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';

function entry(at: number, type: string, key: string, value: Uint8Array = new Uint8Array(0)): Entry {
  return { seq: seq(BigInt(at)), epoch: epoch(1n), ts: 0, type, key, value, checksum: 0n };
}

describe('KvStateMachine', () => {
  it('keeps a copy of each value, not a view pinning the record it came from', () => {
    // What a decoded record hands out: values are views into one decompressed Buffer.
    const record = Buffer.alloc(64 * 1024, 1);
    const kv = new KvStateMachine();
    kv.apply(entry(1, 'put', 'k', record.subarray(100, 110)));
    record.fill(2);
    const kept = kv.get('k')!;
    expect(kept.buffer.byteLength).toBe(10);
    expect([...kept]).toEqual(new Array(10).fill(1));
  });

  it('hashes to the same digest as every earlier version (checkpoints compare across nodes)', () => {
    // Golden values from the implementation that concatenated the whole state.
    const kv = new KvStateMachine();
    expect(kv.hash()).toBe(17241709254077376921n);
    kv.apply(entry(1, 'put', 'b', new TextEncoder().encode('two')));
    kv.apply(entry(2, 'put', 'a', new TextEncoder().encode('one')));
    kv.apply(entry(3, 'put', 'ключ', new Uint8Array(300).fill(7)));
    kv.apply(entry(4, 'put', 'c'));
    kv.apply(entry(5, 'delete', 'b'));
    expect(kv.hash()).toBe(13742961136975618547n);
  });

  it('hashes states larger than its chunk, and values larger than it, as one stream', () => {
    // Same state built in two orders, with values that straddle and exceed the chunk.
    const sizes = [1, 200_000, 300_000, 5, 262_144, 70_000];
    const values = sizes.map((n, i) => new Uint8Array(n).fill(i + 1));
    const forward = new KvStateMachine();
    const backward = new KvStateMachine();
    values.forEach((v, i) => forward.apply(entry(i + 1, 'put', `key-${i}`, v)));
    [...values].reverse().forEach((v, j) => {
      const i = values.length - 1 - j;
      backward.apply(entry(j + 1, 'put', `key-${i}`, v));
    });
    expect(backward.hash()).toBe(forward.hash());
    expect(forward.hash()).toBe(concatenatedHash(values.map((v, i) => [`key-${i}`, v])));
    const changed = new KvStateMachine();
    values.forEach((v, i) =>
      changed.apply(entry(i + 1, 'put', `key-${i}`, i === 2 ? v.with(299_999, 9) : v)),
    );
    expect(changed.hash()).not.toBe(forward.hash());
  });
});

/** The definition, the slow way: every (u32 key length, u32 value length, key, value) in key order, hashed at once. */
function concatenatedHash(pairs: [string, Uint8Array][]): bigint {
  const parts: Buffer[] = [];
  for (const [key, value] of [...pairs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const lengths = Buffer.alloc(8);
    lengths.writeUInt32BE(Buffer.byteLength(key), 0);
    lengths.writeUInt32BE(value.length, 4);
    parts.push(lengths, Buffer.from(key), Buffer.from(value));
  }
  return xxh64(Buffer.concat(parts));
}
