/**
 * One promotion's epoch, kept across its leaderless retries.
 *
 * PrimaryWriter.start() fences every store at max(current epochs) + 1. A promotion that
 * fails after fencing is retried (DESIGN.md "Promotion"), and a plain retry would fence
 * yet another epoch each time: a store that stays unreachable for an hour would burn an
 * epoch every few seconds, and each one fences nothing new (no other writer exists
 * between our own attempts). Raft bumps its term per *election*, not per retry of one
 * candidacy; likewise here one promote() claims one epoch and every retry reuses it.
 *
 * The claim is carried by wrapping the stores the writer is given:
 * - once any store accepted our fence, or may have (its reply was lost), `epoch` is
 *   claimed (a partial fence already stopped the old writer, since it needs every
 *   store: that is "after the fence");
 * - on a retry, `currentEpoch()` reports one below the claim, so the writer picks the
 *   claim again, and `fence(claim)` is a no-op on a store already at the claim (a store
 *   the last attempt did not reach is fenced for real);
 * - a store whose epoch is above the claim means another node fenced a newer epoch:
 *   `currentEpoch()` throws FencedError and the promotion is lost. Fencing over it
 *   would start an epoch war between two candidates that never ends.
 *
 * Safety still rests on the stores: if a newer epoch appears between the check and an
 * append, the append is refused with FencedError like any fenced writer's.
 */
import { FencedError } from '../core/errors.js';
import type { BatchRecord, VerifiedRecord } from '../core/record-codec.js';
import { epoch as toEpoch, type Epoch, type Head, type Seq } from '../core/types.js';
import type { LogStore, Subscription } from '../stores/log-store.js';

export class EpochClaim {
  private claimed: Epoch | undefined;
  /** A fence at `claimed` landed on some store (its reply came back). */
  private landed = false;
  /** Fences at `claimed` whose outcome is open: in flight, or failed without proof. */
  private uncertain = 0;
  /** The stores to give the writer: the originals, wrapped. */
  readonly stores: readonly LogStore[];

  constructor(stores: readonly LogStore[]) {
    this.stores = stores.map((store) => new ClaimingStore(store, this));
  }

  /**
   * The epoch this promotion fenced, or may have fenced, on at least one store
   * (undefined: provably none). A fence whose reply was lost may have landed, and the old
   * writer is then stopped: that counts as after the fence, never as "nothing changed".
   */
  get epoch(): Epoch | undefined {
    return this.landed || this.uncertain > 0 ? this.claimed : undefined;
  }

  /** @internal A fence at `epoch` is about to be sent. */
  noteAttempt(epoch: Epoch): void {
    if (this.claimed === undefined || epoch > this.claimed) {
      this.claimed = epoch;
      this.landed = false;
      this.uncertain = 0;
    }
    if (epoch === this.claimed) this.uncertain++;
  }

  /** @internal The fence at `epoch` landed, or was refused with proof (FencedError). */
  noteSettled(epoch: Epoch, outcome: 'landed' | 'refused' | 'unknown'): void {
    if (epoch !== this.claimed) return;
    if (outcome === 'landed') this.landed = true;
    if (outcome !== 'unknown') this.uncertain--;
  }
}

class ClaimingStore implements LogStore {
  readonly kind: string;

  constructor(
    private readonly inner: LogStore,
    private readonly claim: EpochClaim,
  ) {
    this.kind = inner.kind;
  }

  async currentEpoch(): Promise<Epoch> {
    const current = await this.inner.currentEpoch();
    const mine = this.claim.epoch;
    if (mine === undefined) return current;
    if (current > mine) throw new FencedError(mine, current);
    return toEpoch(mine - 1n);
  }

  async fence(epoch: Epoch): Promise<void> {
    if (epoch === this.claim.epoch && (await this.inner.currentEpoch()) === epoch) return;
    this.claim.noteAttempt(epoch);
    try {
      await this.inner.fence(epoch);
    } catch (error) {
      // Refused (an epoch at or above ours is there): this store provably took nothing.
      // Anything else (a lost reply, a timeout) may have landed.
      this.claim.noteSettled(epoch, error instanceof FencedError ? 'refused' : 'unknown');
      throw error;
    }
    this.claim.noteSettled(epoch, 'landed');
  }

  append(record: BatchRecord, epoch: Epoch): Promise<void> {
    return this.inner.append(record, epoch);
  }

  read(fromSeq: Seq, limitRecords?: number): AsyncIterable<VerifiedRecord> {
    return this.inner.read(fromSeq, limitRecords);
  }

  head(): Promise<Head> {
    return this.inner.head();
  }

  subscribe(fromSeq: Seq): Subscription {
    return this.inner.subscribe(fromSeq);
  }

  truncateBefore(seq: Seq): Promise<void> {
    return this.inner.truncateBefore(seq);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
