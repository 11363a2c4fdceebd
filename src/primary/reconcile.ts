/**
 * Reconciliation at start and promotion (DESIGN.md "Write path"): after every store is
 * fenced, copy the records a shorter store misses from the longest one, byte for byte,
 * under the new epoch. Before copying, the shorter store's last record must equal the
 * longer store's record at that seq: different bytes mean the log forked, an
 * IntegrityError, and nothing is copied.
 *
 * A copy that fails verification in one store (CorruptStoreError: flipped bytes) is not
 * a fork: it is damage that readers detect and repair from the store with the good copy
 * (DESIGN.md invariant 8), so the comparison is made only when both copies are readable,
 * and refused (the corruption error) only when neither is. Refusing on one damaged copy
 * would leave the cluster without a writer for as long as the damage stays.
 */
import { CorruptStoreError, IntegrityError } from '../core/errors.js';
import type { BatchRecord } from '../core/record-codec.js';
import { seq as toSeq, type Epoch } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';
import { sameBytes } from '../stores/contract-rules.js';

/** Returns the common head every store holds afterwards. */
export async function reconcileStores(stores: readonly LogStore[], epoch: Epoch): Promise<bigint> {
  const heads = await Promise.all(stores.map((s) => s.head()));
  let longest = 0;
  heads.forEach((h, i) => {
    if (h.lastSeq > heads[longest]!.lastSeq) longest = i;
  });
  const source = stores[longest]!;
  const target = heads[longest]!.lastSeq;
  for (let i = 0; i < stores.length; i++) {
    const head = heads[i]!.lastSeq;
    if (i === longest || head === target) {
      if (head > 0n && i !== longest) await checkSame(stores[i]!, source, head);
      continue;
    }
    if (head > 0n) await checkSame(stores[i]!, source, head);
    for await (const record of source.read(toSeq(head + 1n))) {
      await stores[i]!.append(record, epoch);
    }
  }
  return target;
}

async function checkSame(store: LogStore, reference: LogStore, seq: bigint): Promise<void> {
  const [ours, theirs] = await Promise.all([first(store, seq), first(reference, seq)]);
  if (ours instanceof CorruptStoreError && theirs instanceof CorruptStoreError) throw ours;
  if (ours instanceof CorruptStoreError || theirs instanceof CorruptStoreError) return;
  if (ours === undefined || theirs === undefined || !sameBytes(ours.bytes, theirs.bytes))
    throw new IntegrityError(seq, `stores ${store.kind} and ${reference.kind} hold different records`);
}

/** The record covering `seq`, none, or the store's CorruptStoreError when its copy is damaged. */
async function first(store: LogStore, seq: bigint): Promise<BatchRecord | CorruptStoreError | undefined> {
  try {
    for await (const record of store.read(toSeq(seq), 1)) return record;
    return undefined;
  } catch (error) {
    if (error instanceof CorruptStoreError) return error;
    throw error;
  }
}
