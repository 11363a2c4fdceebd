/**
 * The vocabulary of DESIGN.md as types. `Seq` and `Epoch` are branded `bigint`s so a
 * JS `number` (or a seq where an epoch belongs) is a type error, not a silent bug.
 */

declare const seqBrand: unique symbol;
declare const epochBrand: unique symbol;

/** u64 sequence id, contiguous from 1. */
export type Seq = bigint & { readonly [seqBrand]: 'Seq' };
/** u64 fencing token, +1 at every promotion. */
export type Epoch = bigint & { readonly [epochBrand]: 'Epoch' };

export const U64_MAX = (1n << 64n) - 1n;

/** Brands a bigint as a Seq after checking it is a u64. */
export function seq(value: bigint): Seq {
  if (value < 0n || value > U64_MAX) throw new RangeError(`seq ${value} is outside u64`);
  return value as Seq;
}

/** Brands a bigint as an Epoch after checking it is a u64. */
export function epoch(value: bigint): Epoch {
  if (value < 0n || value > U64_MAX) throw new RangeError(`epoch ${value} is outside u64`);
  return value as Epoch;
}

/** What the caller asks the primary to log: the fields the writer does not assign. */
export interface Op {
  /** Short name, e.g. `put`, `delete`, or application-defined; 1..64 UTF-8 bytes. */
  readonly type: string;
  /** UTF-8, at most 4 KiB encoded. */
  readonly key: string;
  /** Opaque bytes, at most 4 MiB. */
  readonly value: Uint8Array;
}

/** One state change as it travels: an {@link Op} plus what the writer assigned. */
export interface Entry extends Op {
  readonly seq: Seq;
  readonly epoch: Epoch;
  /** Wall clock at the primary, milliseconds since the Unix epoch. */
  readonly ts: number;
  /** xxh64 over the canonical encoding of every other field. */
  readonly checksum: bigint;
}

/** Inclusive range of seqs. */
export interface SeqRange {
  readonly fromSeq: Seq;
  readonly toSeq: Seq;
}

/** `{lastSeq, epoch}` of the last committed record in a store; lastSeq 0 when empty. */
export interface Head {
  readonly lastSeq: Seq;
  readonly epoch: Epoch;
}
