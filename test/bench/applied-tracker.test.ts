/**
 * Call → applied on a standby (src/bench/applied-tracker.ts), in virtual time with the
 * open loop driving a fake writer and a fake standby whose delays the test chooses:
 * latency runs from each op's intended start to its apply, whether the apply comes
 * after the ack or before it (a standby on the store that commits first); a standby
 * stall is charged to every op behind it; ops never applied within the drain are
 * counted and recorded at the latency they reached; warm-up ops and an earlier step's
 * stragglers are not counted; an ack out of seq order is reported untimed, not
 * mistimed.
 */
import { describe, expect, it } from 'vitest';
import { AppliedTracker, TimedStateMachine } from '../../src/bench/applied-tracker.js';
import { openLoop, type OpSchedule } from '../../src/bench/loops.js';
import { epoch, seq, type Entry } from '../../src/core/types.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

const loop = { ratePerS: 100, durationMs: 1_000, warmupMs: 0, outstandingMax: 1_000, drainMs: 2_000 };

/**
 * Op i is acknowledged as seq i + 1 after `ackMs`, and applied by the standby at
 * `applyAtMs(i, intendedMs)` (virtual ms); the standby applies in seq order, as a real one.
 */
function fakePipeline(
  clock: VirtualClock,
  tracker: AppliedTracker,
  ackMs: number,
  applyAtMs: (index: number, intendedMs: number) => number | undefined,
  acks: (index: number) => boolean = () => true,
) {
  let appliedUpToMs = 0;
  const token = tracker.step();
  return async (index: number, schedule: OpSchedule) => {
    const seq = BigInt(index + 1);
    const at = applyAtMs(index, schedule.intendedMs);
    if (at !== undefined) {
      appliedUpToMs = Math.max(appliedUpToMs, at);
      void clock.sleep(appliedUpToMs - clock.nowMs()).then(() => tracker.applied(seq));
    }
    await clock.sleep(ackMs);
    if (acks(index)) tracker.acked(seq, schedule, token);
  };
}

describe('AppliedTracker', () => {
  it('applied after the ack: from the intended start to the apply', async () => {
    const clock = new VirtualClock();
    const tracker = new AppliedTracker(clock);
    const op = fakePipeline(clock, tracker, 2, (_i, intendedMs) => intendedMs + 7);
    const summary = await clock.run(async () => {
      await openLoop(op, { ...loop, clock });
      return tracker.finish(100);
    });
    expect(summary.count).toBe(100);
    expect(summary.notApplied).toBe(0);
    expect(summary.untimed).toBe(0);
    // Issued at the first 1 ms tick at or after the intended start: 7..8 ms.
    expect(summary.p50Ms).toBeGreaterThanOrEqual(7);
    expect(summary.maxMs).toBeLessThanOrEqual(8.01);
  });

  it('applied before the ack (run-ahead): the apply time counts, not the later ack', async () => {
    const clock = new VirtualClock();
    const tracker = new AppliedTracker(clock);
    const op = fakePipeline(clock, tracker, 20, (_i, intendedMs) => intendedMs + 3);
    const summary = await clock.run(async () => {
      await openLoop(op, { ...loop, clock });
      return tracker.finish(100);
    });
    expect(summary.count).toBe(100);
    expect(summary.p99Ms).toBeLessThan(5);
    expect(summary.p50Ms).toBeGreaterThanOrEqual(3);
  });

  it('a 200 ms standby stall is charged to every op applied behind it', async () => {
    const clock = new VirtualClock();
    const tracker = new AppliedTracker(clock);
    // The standby applies nothing between 500 and 700 ms, then catches up at once.
    const op = fakePipeline(clock, tracker, 2, (_i, intendedMs) => {
      const at = intendedMs + 3;
      return at >= 500 && at < 700 ? 700 : at;
    });
    const summary = await clock.run(async () => {
      await openLoop(op, { ...loop, clock });
      return tracker.finish(100);
    });
    expect(summary.count).toBe(100);
    expect(summary.maxMs).toBeGreaterThanOrEqual(199);
    // 20 of 100 ops waited: the p99 is the stall's, the median is not.
    expect(summary.p99Ms).toBeGreaterThanOrEqual(180);
    expect(summary.p50Ms).toBeLessThan(5);
  });

  it('ops never applied within the drain: counted, and recorded at the latency they reached', async () => {
    const clock = new VirtualClock();
    const tracker = new AppliedTracker(clock);
    const op = fakePipeline(clock, tracker, 2, (i, intendedMs) => (i < 60 ? intendedMs + 3 : undefined));
    const summary = await clock.run(async () => {
      await openLoop(op, { ...loop, clock });
      return tracker.finish(300);
    });
    expect(summary.notApplied).toBe(40);
    expect(summary.count).toBe(100);
    // The last op was intended at 990 ms, and the drain ended 300 ms after the loop did.
    expect(summary.maxMs).toBeGreaterThanOrEqual(600);
  });

  it('holds only what is in flight: 10,000 ops applied before their acks, one in ten never acked', async () => {
    const clock = new VirtualClock();
    const tracker = new AppliedTracker(clock);
    // An unknown outcome: in the log and applied, but the caller never learns its seq.
    const op = fakePipeline(
      clock,
      tracker,
      5,
      (_i, intendedMs) => intendedMs + 2,
      (i) => i % 10 !== 0,
    );
    let heldMax = 0;
    const summary = await clock.run(async () => {
      await openLoop(
        async (index, schedule) => {
          await op(index, schedule);
          heldMax = Math.max(heldMax, tracker.heldSeqs);
        },
        { ...loop, ratePerS: 1_000, durationMs: 10_000, clock },
      );
      return tracker.finish(100);
    });
    expect(summary.count).toBe(9_000);
    // An op every ms, acked 5 ms after it starts: a handful in flight, never thousands.
    expect(heldMax).toBeLessThanOrEqual(10);
    expect(tracker.heldSeqs).toBe(0);
  });

  it('warm-up ops and acks of an earlier step are not counted', async () => {
    const clock = new VirtualClock();
    const tracker = new AppliedTracker(clock);
    const summary = await clock.run(async () => {
      const old = tracker.step();
      const token = tracker.step();
      tracker.acked(1n, { intendedMs: 0, measured: true }, old);
      tracker.acked(2n, { intendedMs: 0, measured: false }, token);
      tracker.acked(3n, { intendedMs: 0, measured: true }, token);
      await clock.sleep(4);
      for (const seq of [1n, 2n, 3n]) tracker.applied(seq);
      return tracker.finish(10);
    });
    expect(summary.count).toBe(1);
    expect(summary.p50Ms).toBeCloseTo(4, 1);
  });

  it('an ack out of seq order after its apply time was retired is untimed, never mistimed', async () => {
    const clock = new VirtualClock();
    const tracker = new AppliedTracker(clock);
    const summary = await clock.run(async () => {
      const token = tracker.step();
      tracker.applied(1n);
      tracker.applied(2n);
      await clock.sleep(10);
      tracker.acked(2n, { intendedMs: 0, measured: true }, token);
      // Seq 1's apply time was retired by the ack of 2: it cannot be timed any more.
      tracker.acked(1n, { intendedMs: 0, measured: true }, token);
      return tracker.finish(10);
    });
    expect(summary.count).toBe(1);
    expect(summary.untimed).toBe(1);
    expect(summary.notApplied).toBe(0);
  });
});

describe('TimedStateMachine', () => {
  it('applies to the inner machine first, then reports the seq; hash and images are the inner ones', () => {
    const inner = new KvStateMachine();
    const seen: [bigint, number][] = [];
    const timed = new TimedStateMachine(inner, (seq) => seen.push([seq, inner.size]));
    const entry: Entry = {
      seq: seq(7n),
      epoch: epoch(1n),
      ts: 0,
      type: 'put',
      key: 'k',
      value: new Uint8Array([1]),
      checksum: 0n,
    };
    timed.apply(entry);
    expect(seen).toEqual([[7n, 1]]);
    expect(timed.hash()).toBe(inner.hash());
    const copy = new TimedStateMachine(new KvStateMachine(), () => {});
    copy.restore(timed.snapshot().bytes);
    expect(copy.hash()).toBe(inner.hash());
  });
});
