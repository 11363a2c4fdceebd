/**
 * What a standby applies the log to (DESIGN.md "Snapshots and replay"), and the
 * built-in key-value state machine: `put` sets key → value, `delete` removes the key;
 * other entry types are counted and otherwise ignored.
 */
import { decode, encode } from '@msgpack/msgpack';
import { Xxh64 } from '@node-rs/xxhash';
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

/** The hasher's input chunk: room for the longest key (4 KiB of UTF-8) many times over. */
const HASH_CHUNK_BYTES = 256 * 1024;

export class KvStateMachine implements StateMachine {
  private data = new Map<string, Uint8Array>();
  ignoredEntries = 0;

  apply(entry: Entry): void {
    // A copy into its own buffer: the value is a view into the decoded record (a
    // Buffer, whose slice() would be another view), which the state must not pin.
    if (entry.type === 'put') this.data.set(entry.key, new Uint8Array(entry.value));
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

  /**
   * xxh64 over every (key, value) in key order, each length-prefixed: u32 key bytes,
   * u32 value bytes, key (UTF-8), value. Fed to the hasher in chunks of about
   * {@link HASH_CHUNK_BYTES}, so hashing a state never holds a second copy of it.
   */
  hash(): bigint {
    const hasher = new Xxh64();
    const chunk = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
    let used = 0;
    for (const key of this.sortedKeys()) {
      const value = this.data.get(key)!;
      const keyBytesMax = key.length * 3;
      if (used + 8 + keyBytesMax > HASH_CHUNK_BYTES) {
        hasher.update(chunk.subarray(0, used));
        used = 0;
      }
      const keyBytes = chunk.write(key, used + 8, 'utf8');
      chunk.writeUInt32BE(keyBytes, used);
      chunk.writeUInt32BE(value.length, used + 4);
      used += 8 + keyBytes;
      if (used + value.length <= HASH_CHUNK_BYTES) {
        chunk.set(value, used);
        used += value.length;
      } else {
        hasher.update(chunk.subarray(0, used));
        used = 0;
        hasher.update(value);
      }
    }
    if (used > 0) hasher.update(chunk.subarray(0, used));
    return hasher.digest();
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
    return this.sortedKeys().map((key) => [key, this.data.get(key)!]);
  }

  /** Keys in UTF-16 code unit order (the order every hash and image has used). */
  private sortedKeys(): string[] {
    return [...this.data.keys()].sort();
  }
}
