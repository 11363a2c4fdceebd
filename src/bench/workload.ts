/**
 * The bench workload: puts of `valueBytes`-byte values over 100,000 keys, half of the
 * values JSON-like text (compressible) and half pseudo-random bytes (not), as the
 * store-level benches use (bench/workload.ts) but at any size. Values come from a
 * small pool made before the clock starts: making them must not count as the system's time.
 */
import type { Op } from '../core/types.js';

const POOL_VALUES = 256;
const KEYS = 100_000;

export class Workload {
  private readonly values: Uint8Array[];

  constructor(readonly valueBytes: number) {
    this.values = Array.from({ length: POOL_VALUES }, (_, index) => makeValue(index, valueBytes));
  }

  /** The op at `index`: put users/<index mod 100,000> = a pool value. */
  op(index: number): Op {
    return { type: 'put', key: `users/${index % KEYS}`, value: this.values[index % POOL_VALUES]! };
  }

  /** `count` ops from `offset`. */
  ops(offset: number, count: number): Op[] {
    return Array.from({ length: count }, (_, i) => this.op(offset + i));
  }
}

function makeValue(index: number, valueBytes: number): Uint8Array {
  if (index % 2 === 0) {
    const text = JSON.stringify({
      id: index,
      user: `user-${index}`,
      email: `user${index}@example.com`,
      active: true,
      tags: ['alpha', 'beta', 'gamma'],
      note: 'the quick brown fox jumps over the lazy dog '.repeat(Math.ceil(valueBytes / 44)),
    });
    return new TextEncoder().encode(text.padEnd(valueBytes, ' ').slice(0, valueBytes));
  }
  const out = new Uint8Array(valueBytes);
  let x = (index * 2654435761) >>> 0 || 1;
  for (let i = 0; i < valueBytes; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
