/**
 * What a standby applies the log to (DESIGN.md "Snapshots and replay"), and the
 * built-in key-value state machine: `put` sets key → value, `delete` removes the key;
 * other entry types are counted and otherwise ignored.
 */
import { xxh64 } from '@node-rs/xxhash';
import type { Entry } from '../core/types.js';

export interface StateMachine {
  /** Applies one entry; called exactly once per seq, in seq order. */
  apply(entry: Entry): void;
  /** A digest of the whole state: equal states have equal hashes. */
  hash(): bigint;
}

export class KvStateMachine implements StateMachine {
  private readonly data = new Map<string, Uint8Array>();
  ignoredEntries = 0;

  apply(entry: Entry): void {
    if (entry.type === 'put') this.data.set(entry.key, entry.value.slice());
    else if (entry.type === 'delete') this.data.delete(entry.key);
    else this.ignoredEntries++;
  }

  get(key: string): Uint8Array | undefined {
    return this.data.get(key);
  }

  get size(): number {
    return this.data.size;
  }

  /** xxh64 over every (key, value) in key order, each length-prefixed. */
  hash(): bigint {
    const keys = [...this.data.keys()].sort();
    const parts: Buffer[] = [];
    for (const key of keys) {
      const keyBytes = Buffer.from(key);
      const value = this.data.get(key)!;
      const lengths = Buffer.alloc(8);
      lengths.writeUInt32BE(keyBytes.length, 0);
      lengths.writeUInt32BE(value.length, 4);
      parts.push(lengths, keyBytes, Buffer.from(value.buffer, value.byteOffset, value.length));
    }
    return xxh64(Buffer.concat(parts));
  }
}
