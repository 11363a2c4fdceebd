/**
 * The standby's pure core (issue 13 item 1; STYLE.md, after etcd-io/raft's Step/Tick →
 * Ready): the applier (applier.ts) and the lifecycle table (standby-state.ts) behind
 * one interface. Every input — a delivery, a head seen, time passing, an event the
 * shell observed (a subscription visible or blind, an API call) — returns what the
 * shell must do, in order: `apply` the entries, `fetch` the ranges, report the
 * `skipped` ranges, and publish the lifecycle `events` (each accepted or rejected).
 * The core derives the lifecycle events that follow from the applier itself, so the
 * shell never re-derives them: a halting gap (`gap_halted`), its fill (`gap_filled`),
 * catching up (`caught_up`) and falling behind (`fell_behind`).
 *
 * No I/O, no timers, no clock: time is `nowMs`. Golden scenarios
 * (test/core/standby-core.scenarios.test.ts) and a seeded simulation
 * (test/core/standby-core.simulation.test.ts) cover it as they cover the applier.
 */
import { Applier, type ApplierConfig, type ApplierCounters, type ApplierOutput } from './applier.js';
import {
  promotionCheck,
  transition,
  type PromotionBlocker,
  type StandbyEvent,
  type StandbyState,
} from './standby-state.js';
import type { Entry, Epoch, Seq, SeqRange } from './types.js';

/** One lifecycle event the core fired, and what the table made of it. */
export type LifecycleChange =
  | {
      readonly ok: true;
      readonly from: StandbyState;
      readonly to: StandbyState;
      readonly event: StandbyEvent;
    }
  | {
      readonly ok: false;
      readonly state: StandbyState;
      readonly event: StandbyEvent;
      readonly reason: string;
    };

/** What the standby shell must do after any input, in this order. */
export interface StandbyOutput extends ApplierOutput {
  /** Lifecycle events, in order; an accepted self-loop (from === to) is included. */
  readonly events: readonly LifecycleChange[];
}

/**
 * One delivery from a store: the verified entries of a record, or a record that failed
 * verification (`corrupt`: nothing applies, its seqs stay a gap). `headSeq`: the last
 * seq the delivery proves exists (a subscription's record: its lastSeq); anything
 * missing up to it becomes a gap.
 */
export type StandbyDelivery =
  | { readonly kind: 'record'; readonly entries: readonly Entry[]; readonly headSeq?: Seq | undefined }
  | { readonly kind: 'corrupt'; readonly headSeq?: Seq | undefined };

export interface StandbyStart {
  readonly appliedSeq: Seq;
  readonly appliedEpoch: Epoch;
}

const NOTHING: StandbyOutput = { apply: [], fetch: [], skipped: [], events: [] };

export class StandbyCore {
  private applier: Applier;
  private stateValue: StandbyState = 'starting';

  constructor(
    private readonly config: ApplierConfig,
    start: StandbyStart,
  ) {
    this.applier = new Applier(config, start);
  }

  get state(): StandbyState {
    return this.stateValue;
  }
  get appliedSeq(): Seq {
    return this.applier.appliedSeq;
  }
  get appliedEpoch(): Epoch {
    return this.applier.appliedEpoch;
  }
  get knownHeadSeq(): Seq {
    return this.applier.knownHeadSeq;
  }
  get halted(): boolean {
    return this.applier.halted;
  }
  get divergent(): boolean {
    return this.applier.divergent;
  }
  /** A check outside the applier (a checkpoint) found the state wrong: not promotable until a snapshot replaces it. */
  markDivergent(): void {
    this.applier.markDivergent();
  }
  get gaps(): readonly SeqRange[] {
    return this.applier.gaps;
  }
  get pendingEntries(): number {
    return this.applier.pendingEntries;
  }
  /** Bytes held by the pending buffer (the applier's footprint estimate). */
  get pendingBytes(): number {
    return this.applier.pendingBytes;
  }
  get skippedRanges(): readonly SeqRange[] {
    return this.applier.skippedRanges;
  }
  get counters(): Readonly<ApplierCounters> {
    return this.applier.counters;
  }

  /** An event the shell observed or an API call made: moves the lifecycle (or is rejected). */
  fire(event: StandbyEvent): LifecycleChange {
    const result = transition(this.stateValue, event);
    if (!result.ok) return { ok: false, state: this.stateValue, event, reason: result.reason };
    this.stateValue = result.to;
    return { ok: true, from: result.from, to: result.to, event };
  }

  /**
   * A delivery. The entries go to the applier first and the head after them, so a
   * record's own seqs are never marked missing only to be filled again.
   */
  receive(delivery: StandbyDelivery, nowMs: number): StandbyOutput {
    if (this.closed) return NOTHING;
    const out = delivery.kind === 'record' ? this.applier.receive(delivery.entries, nowMs) : undefined;
    if (delivery.headSeq !== undefined) this.applier.observeHead(delivery.headSeq, nowMs);
    return this.derive(out ?? { apply: [], fetch: [], skipped: [] });
  }

  /** The source's head as a store reported it: seqs missing up to it become a gap. */
  observeHead(headSeq: Seq, nowMs: number): StandbyOutput {
    if (this.closed) return NOTHING;
    return this.derive(this.applier.observeHead(headSeq, nowMs));
  }

  /**
   * The source's committed head, read just after (re)connecting: a syncing node already
   * at or past it has caught up — the case no delivery would show (an empty log, or
   * nothing new since the node last applied). A head beyond the applied seq changes
   * nothing: the subscription is about to deliver those records, and marking them as a
   * gap would fetch them twice.
   */
  headRead(headSeq: Seq): StandbyOutput {
    if (this.closed || this.stateValue !== 'syncing' || this.applier.halted) return NOTHING;
    const applied = this.applier.appliedSeq;
    if (applied < headSeq || applied < this.applier.knownHeadSeq) return NOTHING;
    return { ...NOTHING, events: [this.fire('caught_up')] };
  }

  /** Time passed: fetches for old gaps, skips (or a halt) on expired ones. */
  tick(nowMs: number): StandbyOutput {
    if (this.closed) return NOTHING;
    return this.derive(this.applier.tick(nowMs));
  }

  /** The promotion preconditions (standby-state.ts) against this node as it is now. */
  promotionCheck(
    headSeq: bigint,
    force: boolean,
  ): { blockers: PromotionBlocker[]; overridden: PromotionBlocker[] } {
    return promotionCheck(
      { state: this.stateValue, divergent: this.divergent, appliedSeq: this.appliedSeq, headSeq },
      force,
    );
  }

  /**
   * A snapshot was restored: the applier starts over after its lastSeq (nothing pending,
   * no gaps, not divergent), and the lifecycle fires `snapshot_installed`.
   */
  snapshotInstalled(start: StandbyStart): LifecycleChange {
    this.applier = new Applier(this.config, start);
    return this.fire('snapshot_installed');
  }

  /**
   * Once the node failed or stopped nothing moves: inputs are ignored, the applier
   * included, so the applied seq stays what the shell was last told to apply.
   */
  private get closed(): boolean {
    return this.stateValue === 'failed' || this.stateValue === 'stopped';
  }

  /** The lifecycle events the applier's output implies. */
  private derive(out: ApplierOutput): StandbyOutput {
    const events: LifecycleChange[] = [];
    const following = this.stateValue === 'syncing' || this.stateValue === 'watching';
    if (this.applier.halted && following) events.push(this.fire('gap_halted'));
    else if (!this.applier.halted && this.stateValue === 'halted') events.push(this.fire('gap_filled'));
    if (out.apply.length > 0) {
      const caughtUp = this.applier.appliedSeq >= this.applier.knownHeadSeq;
      if (caughtUp && this.stateValue === 'syncing') events.push(this.fire('caught_up'));
      if (!caughtUp && this.stateValue === 'watching') events.push(this.fire('fell_behind'));
    }
    return { ...out, events };
  }
}
