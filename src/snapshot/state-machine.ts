/**
 * What a standby applies the log to (DESIGN.md "Snapshots and replay"), and the
 * built-in key-value state machine: `put` sets key → value, `delete` removes the key;
 * other entry types are counted and otherwise ignored.
 */
import { decode, encode } from '@msgpack/msgpack';
import { xxh64 } from '@node-rs/xxhash';
import { MalformedError } from '../core/errors.js';
import type { Entry } from '../core/types.js';

/** A state machine's whole state as bytes, and how many items (e.g. keys) it holds. */
export interface StateImage {
  readonly bytes: Uint8Array;
  readonly items: number;
}

export interface StateMachine {
  /** Applies one entry; called exactly once per seq, in seq order. */
  apply(entry: Entry): void;
  /** A digest of the whole state: equal states have equal hashes. */
  hash(): bigint;
  /**
   * The whole state, synchronously: nothing is applied while it runs, so the image is
   * exactly the state after the last applied seq.
   */
  snapshot(): StateImage;
  /**
   * Replaces the whole state with an image from snapshot(). All or nothing: on a
   * malformed image it throws and the current state is untouched.
   */
  restore(bytes: Uint8Array): void;
}

export class KvStateMachine implements StateMachine {
  private data = new Map<string, Uint8Array>();
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

  /** Every (key, value), in no particular order. */
  entries(): IterableIterator<[string, Uint8Array]> {
    return this.data.entries();
  }

  /** xxh64 over every (key, value) in key order, each length-prefixed. */
  hash(): bigint {
    const parts: Buffer[] = [];
    for (const [key, value] of this.sorted()) {
      const keyBytes = Buffer.from(key);
      const lengths = Buffer.alloc(8);
      lengths.writeUInt32BE(keyBytes.length, 0);
      lengths.writeUInt32BE(value.length, 4);
      parts.push(lengths, keyBytes, Buffer.from(value.buffer, value.byteOffset, value.length));
    }
    return xxh64(Buffer.concat(parts));
  }

  /** A msgpack array of [key, value] pairs in key order. */
  snapshot(): StateImage {
    return { bytes: encode(this.sorted()), items: this.data.size };
  }

  restore(bytes: Uint8Array): void {
    let decoded: unknown;
    try {
      decoded = decode(bytes);
    } catch (cause) {
      throw new MalformedError('key-value snapshot image', undefined, { cause });
    }
    if (!Array.isArray(decoded)) throw new MalformedError('key-value snapshot image (not an array)');
    const data = new Map<string, Uint8Array>();
    for (const pair of decoded as unknown[]) {
      if (
        !Array.isArray(pair) ||
        pair.length !== 2 ||
        typeof pair[0] !== 'string' ||
        !(pair[1] instanceof Uint8Array)
      )
        throw new MalformedError('key-value snapshot image (a pair is not [string, bytes])');
      data.set(pair[0], pair[1]);
    }
    this.data = data;
  }

  private sorted(): [string, Uint8Array][] {
    return [...this.data.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
