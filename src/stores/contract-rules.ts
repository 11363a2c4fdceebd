/**
 * The append and fence clauses of the LogStore contract, so adapters that hold
 * their state locally (memory, file) decide them identically.
 */
import { ConflictError, FencedError, InvalidInputError, NotContiguousError } from '../core/errors.js';
import { verifyRecord, type BatchRecord } from '../core/record-codec.js';
import type { Epoch } from '../core/types.js';

export interface StoreView {
  readonly epoch: Epoch;
  readonly lastSeq: bigint;
  /** The stored record covering `seq`, if any. */
  recordAt(seq: bigint): BatchRecord | undefined | Promise<BatchRecord | undefined>;
}

/**
 * Checks an appended record's bytes (checksums, caps) and that its epoch does not
 * exceed the append epoch; returns the record as its verified bytes describe it
 * (never trust the caller's header fields). Nothing is written when this throws.
 */
export function verifyForAppend(record: BatchRecord, epoch: Epoch): BatchRecord {
  const verified = verifyRecord(record.bytes);
  if (verified.epoch > epoch)
    throw new InvalidInputError('record', `epoch ${verified.epoch} is above the append epoch ${epoch}`);
  return verified;
}

/**
 * Given a record from {@link verifyForAppend}: returns `duplicate` when the identical
 * record is already stored (resolve without writing), `write` when it must be written,
 * and throws for every refusal.
 */
export async function decideAppend(
  verified: BatchRecord,
  epoch: Epoch,
  view: StoreView,
): Promise<'write' | 'duplicate'> {
  if (verified.firstSeq <= view.lastSeq) {
    const stored = await view.recordAt(verified.firstSeq);
    if (
      stored !== undefined &&
      stored.firstSeq === verified.firstSeq &&
      sameBytes(stored.bytes, verified.bytes)
    )
      return 'duplicate';
    // A stale writer learns it is fenced, not merely that its seq is taken.
    if (epoch !== view.epoch) throw new FencedError(epoch, view.epoch);
    throw new ConflictError(verified.firstSeq);
  }
  if (epoch !== view.epoch) throw new FencedError(epoch, view.epoch);
  if (verified.firstSeq !== view.lastSeq + 1n)
    throw new NotContiguousError(verified.firstSeq, view.lastSeq + 1n);
  return 'write';
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** fence(epoch) is refused unless `epoch` is above the current one. */
export function checkFence(epoch: Epoch, current: Epoch): void {
  if (epoch <= current) throw new FencedError(epoch, current);
}
