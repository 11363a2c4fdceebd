/** The standard benchmark workload: 512-byte values, half JSON-like, half random. */
import type { EntryFields } from '../src/core/entry-codec.js';
import { epoch as toEpoch, seq as toSeq } from '../src/core/types.js';

export const VALUE_BYTES = 512;

const valueCache = new Map<number, Uint8Array>();

/** The value at `index` (memoized: generating it must not count as the system's time). */
export function workloadValue(index: number): Uint8Array {
  let value = valueCache.get(index);
  if (value === undefined) {
    value = makeValue(index);
    if (valueCache.size < 65_536) valueCache.set(index, value);
  }
  return value;
}

function makeValue(index: number): Uint8Array {
  if (index % 2 === 0) {
    const json = JSON.stringify({
      id: index,
      user: `user-${index % 1000}`,
      email: `user${index % 1000}@example.com`,
      active: true,
      tags: ['alpha', 'beta', 'gamma'],
      note: 'the quick brown fox jumps over the lazy dog '.repeat(8),
    });
    return new TextEncoder().encode(json.padEnd(VALUE_BYTES, ' ').slice(0, VALUE_BYTES));
  }
  const out = new Uint8Array(VALUE_BYTES);
  let x = (index * 2654435761) >>> 0 || 1;
  for (let i = 0; i < VALUE_BYTES; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function workloadEntries(firstSeq: bigint, count: number, epochValue = 1n): EntryFields[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: toSeq(firstSeq + BigInt(i)),
    epoch: toEpoch(epochValue),
    ts: 1_700_000_000_000 + i,
    type: 'put',
    key: `users/${(Number(firstSeq) + i) % 100_000}`,
    value: workloadValue(i),
  }));
}
