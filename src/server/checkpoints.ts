/**
 * Continuous state checks (DESIGN.md "The service"): every `everyEntries` seqs each
 * node notes the digest of its state at that seq; the primary then appends a
 * `checkpoint` entry carrying {atSeq, digest}, and every node that applies that entry
 * compares it with the digest it noted at atSeq. A mismatch makes the node divergent.
 *
 * The digest is incremental, so a checkpoint costs O(1) rather than a pass over the
 * whole state: the sum (mod 2^64) over every key of xxh64(value, seed = xxh64(key)).
 * Equal states have equal digests whatever order built them; it is kept beside the
 * state machine's own hash(), which snapshots use and which is a full pass. Each key's
 * term is kept (one bigint per key), so an overwrite hashes only the new value.
 */
import { decode, encode } from '@msgpack/msgpack';
import { xxh64 } from '@node-rs/xxhash';
import type { Entry } from '../core/types.js';

const MASK = (1n << 64n) - 1n;

/** The incremental digest of a key-value state; fed every put and delete. */
export class KvDigest {
  value = 0n;
  /** Each present key's term of the sum. */
  private readonly terms = new Map<string, bigint>();

  /** `key` now holds `value` (undefined: deleted). */
  set(key: string, value: Uint8Array | undefined): void {
    const old = this.terms.get(key);
    if (old !== undefined) this.value = (this.value - old) & MASK;
    if (value === undefined) {
      this.terms.delete(key);
      return;
    }
    const term = pairHash(key, value);
    this.terms.set(key, term);
    this.value = (this.value + term) & MASK;
  }

  reset(): void {
    this.value = 0n;
    this.terms.clear();
  }
}

/** xxh64 of the value seeded with xxh64 of the key: no concatenated copy of the two. */
function pairHash(key: string, value: Uint8Array): bigint {
  return xxh64(value, xxh64(key));
}

export interface CheckpointValue {
  readonly atSeq: bigint;
  readonly digest: bigint;
}

export function encodeCheckpoint(value: CheckpointValue): Uint8Array {
  return encode({ atSeq: value.atSeq.toString(), digest: value.digest.toString(16) });
}

export function decodeCheckpoint(bytes: Uint8Array): CheckpointValue | undefined {
  try {
    const decoded = decode(bytes) as { atSeq?: unknown; digest?: unknown };
    if (typeof decoded.atSeq !== 'string' || typeof decoded.digest !== 'string') return undefined;
    return { atSeq: BigInt(decoded.atSeq), digest: BigInt(`0x${decoded.digest}`) };
  } catch {
    return undefined;
  }
}

export interface CheckpointMismatch {
  readonly atSeq: bigint;
  readonly checkpointSeq: bigint;
  readonly expected: string;
  readonly found: string;
}

/**
 * One node's checkpoint bookkeeping. `applied` is called after every applied entry with
 * the digest after it; it returns the checkpoint the primary should append (when this
 * node writes), and every mismatch: each checkpoint entry whose digest differs from the
 * one this node noted (once a state is wrong, later checkpoints usually disagree too;
 * each is counted, `oplog_checkpoint_mismatches_total`). `mismatch` keeps the first.
 */
export class Checkpoints {
  /** Digests noted at multiples of everyEntries, newest last (a few are enough). */
  private readonly noted = new Map<bigint, bigint>();
  private mismatchValue: CheckpointMismatch | undefined;
  /** Checkpoint entries judged: their atSeq was noted here. */
  checked = 0;
  /** Checkpoint entries judged and found different, every one. */
  mismatches = 0;

  constructor(private readonly everyEntries: number) {}

  /** The first mismatch found, which says from when the state was wrong. */
  get mismatch(): CheckpointMismatch | undefined {
    return this.mismatchValue;
  }

  /** After applying `entry` (digest = the state's digest after it). */
  applied(entry: Entry, digest: bigint): { append?: CheckpointValue; mismatch?: CheckpointMismatch } {
    if (this.everyEntries <= 0) return {};
    if (entry.type === 'checkpoint') {
      const value = decodeCheckpoint(entry.value);
      const mine = value === undefined ? undefined : this.noted.get(value.atSeq);
      if (value === undefined || mine === undefined) return {}; // not ours to judge (installed past it)
      this.checked++;
      if (mine === value.digest) return {};
      this.mismatches++;
      const mismatch = {
        atSeq: value.atSeq,
        checkpointSeq: entry.seq,
        expected: value.digest.toString(16).padStart(16, '0'),
        found: mine.toString(16).padStart(16, '0'),
      };
      this.mismatchValue ??= mismatch;
      return { mismatch };
    }
    if (entry.seq % BigInt(this.everyEntries) !== 0n) return {};
    this.noted.set(entry.seq, digest);
    for (const seq of this.noted.keys()) if (this.noted.size > 16) this.noted.delete(seq);
    return { append: { atSeq: entry.seq, digest } };
  }

  /** A snapshot replaced the state: what was noted no longer describes it. */
  restored(): void {
    this.noted.clear();
  }
}
