/**
 * Call → applied latency on a standby, measured from the same origin as call →
 * durable: each op's intended start on the open loop's schedule (loops.ts), so a stall
 * anywhere — in the writer, the store, the standby's read — is charged to every op it
 * delayed. The standby's state machine tells the tracker when it applied a seq
 * ({@link TimedStateMachine}); the op tells it, once its append resolved, which seq it
 * got and when it should have started. The two meet in whichever order they happen: a
 * standby following the store that commits first (etcd, with run-ahead) can apply a
 * seq before the writer acknowledges it, since acks wait for every store.
 *
 * Memory stays bounded by what is in flight: the writer acknowledges in seq order and
 * the standby applies in seq order, so an ack of seq s retires every early apply below
 * s, and a seq waits for its apply only between its ack and that apply.
 */
import type { Entry, Seq } from '../core/types.js';
import type { StateImage, StateMachine } from '../snapshot/state-machine.js';
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import type { LoopClock, OpSchedule } from './loops.js';

/** One step's call → applied figures. */
export interface AppliedSummary extends LatencySummary {
  /** Acknowledged measured ops not applied when the drain ended (recorded at the latency they had reached). */
  readonly notApplied: number;
  /**
   * Acknowledged after the standby had applied them and after a higher seq's ack had
   * retired their apply time, so not timed: 0 unless the writer broke its ack order.
   */
  readonly untimed: number;
}

/** A step of the tracker: acks carry it, so a straggler of an earlier step is ignored. */
export type StepToken = number;

export class AppliedTracker {
  /** Seqs applied before their ack: seq → when, in apply (= seq) order. */
  private readonly appliedEarly = new Map<bigint, number>();
  /** Measured ops acknowledged and not applied yet: seq → intended start. */
  private readonly waiting = new Map<bigint, number>();
  private histogram = new LatencyHistogram();
  private appliedSeqMax = 0n;
  private untimed = 0;
  private token: StepToken = 0;

  constructor(private readonly clock: LoopClock) {}

  /** Seqs held (applied and not acknowledged yet, or acknowledged and not applied): what is in flight. */
  get heldSeqs(): number {
    return this.appliedEarly.size + this.waiting.size;
  }

  /** Starts a step: what an earlier step left behind is forgotten. */
  step(): StepToken {
    this.waiting.clear();
    this.histogram = new LatencyHistogram();
    this.untimed = 0;
    return ++this.token;
  }

  /** The standby applied `seq` (called from its state machine, in seq order). */
  applied(seq: bigint): void {
    if (seq > this.appliedSeqMax) this.appliedSeqMax = seq;
    const intendedMs = this.waiting.get(seq);
    if (intendedMs === undefined) {
      this.appliedEarly.set(seq, this.clock.nowMs());
      return;
    }
    this.waiting.delete(seq);
    this.histogram.recordMs(this.clock.nowMs() - intendedMs);
  }

  /** The append scheduled as `schedule` was acknowledged at `seq`, in step `token`. */
  acked(seq: bigint, schedule: OpSchedule, token: StepToken): void {
    for (const early of this.appliedEarly.keys()) {
      if (early >= seq) break;
      this.appliedEarly.delete(early);
    }
    const appliedMs = this.appliedEarly.get(seq);
    this.appliedEarly.delete(seq);
    if (token !== this.token || !schedule.measured) return;
    if (appliedMs !== undefined) this.histogram.recordMs(appliedMs - schedule.intendedMs);
    else if (seq <= this.appliedSeqMax) this.untimed++;
    else this.waiting.set(seq, schedule.intendedMs);
  }

  /**
   * Ends the step: waits up to `drainMs` for the standby to apply every acknowledged
   * op, records those still not applied at the latency they reached, and summarizes.
   */
  async finish(drainMs: number): Promise<AppliedSummary> {
    const until = this.clock.nowMs() + drainMs;
    while (this.waiting.size > 0 && this.clock.nowMs() < until) await this.clock.sleep(5);
    const notApplied = this.waiting.size;
    for (const intendedMs of this.waiting.values()) this.histogram.recordMs(this.clock.nowMs() - intendedMs);
    this.waiting.clear();
    return { ...this.histogram.summary(), notApplied, untimed: this.untimed };
  }
}

/** A state machine that tells `onApplied` of every seq once the inner one applied it. */
export class TimedStateMachine implements StateMachine {
  constructor(
    private readonly inner: StateMachine,
    private readonly onApplied: (seq: Seq) => void,
  ) {}

  apply(entry: Entry): void {
    this.inner.apply(entry);
    this.onApplied(entry.seq);
  }

  hash(): bigint {
    return this.inner.hash();
  }

  snapshot(): StateImage {
    return this.inner.snapshot();
  }

  restore(bytes: Uint8Array): void {
    this.inner.restore(bytes);
  }
}
