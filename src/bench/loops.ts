/**
 * The two ways a bench drives a system: a closed loop (N callers, each issuing its next
 * op when the previous one completes: throughput at a concurrency) and an open loop
 * (ops issued on a fixed schedule whatever the system does: latency at an offered rate).
 *
 * The open loop avoids coordinated omission: each op's latency runs from its intended
 * start on the schedule, not from when it was actually sent, so a stall that delays
 * sending is charged to every op it delayed (a closed-loop client, which waits, would
 * hide it). Both loops are bounded in time; the open loop also bounds its outstanding
 * ops and the time it waits for them.
 */
import { setTimeout as sleepReal } from 'node:timers/promises';
import { LatencyHistogram, type LatencySummary } from './histogram.js';

/** Time for the loops: the real clock by default; tests pass a virtual one. */
export interface LoopClock {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const REAL_CLOCK: LoopClock = {
  nowMs: () => performance.now(),
  sleep: async (ms) => {
    await sleepReal(ms);
  },
};

export interface ClosedLoopResult {
  /** Ops started in the measured window and completed. */
  readonly ops: number;
  readonly seconds: number;
  readonly latency: LatencySummary;
}

/**
 * `clients` callers of `op` for `warmupMs` + `durationMs`; ops started during the
 * warm-up are not counted. A caller whose ops are slower than the window still
 * completes one measured op (so a case never reports nothing), within a hard bound of
 * ten windows or 10 s past its end, whichever is longer. An op that rejects stops the
 * run with its error.
 */
export async function closedLoop(
  op: (index: number) => Promise<unknown>,
  {
    clients,
    durationMs,
    warmupMs,
    clock = REAL_CLOCK,
  }: { clients: number; durationMs: number; warmupMs: number; clock?: LoopClock },
): Promise<ClosedLoopResult> {
  const histogram = new LatencyHistogram();
  const start = clock.nowMs();
  const measuredFrom = start + warmupMs;
  const until = measuredFrom + durationMs;
  const hardUntil = until + Math.max(10_000, 10 * (warmupMs + durationMs));
  let next = 0;
  let counted = 0;
  let lastEnd = measuredFrom;
  const caller = async (): Promise<void> => {
    let own = 0;
    for (let t0 = clock.nowMs(); t0 < until || (own === 0 && t0 < hardUntil); t0 = clock.nowMs()) {
      await op(next++);
      const end = clock.nowMs();
      if (t0 >= measuredFrom) {
        own++;
        counted++;
        histogram.recordMs(end - t0);
        lastEnd = Math.max(lastEnd, end);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, caller));
  return { ops: counted, seconds: (lastEnd - measuredFrom) / 1000, latency: histogram.summary() };
}

export interface OpenLoopOptions {
  readonly ratePerS: number;
  readonly durationMs: number;
  /** Ops scheduled in the first `warmupMs` are issued but not measured. */
  readonly warmupMs: number;
  /** Issuing stops (the step is saturated) when this many ops are outstanding. */
  readonly outstandingMax: number;
  /** How long to wait for outstanding ops after the schedule ends. */
  readonly drainMs: number;
  readonly clock?: LoopClock;
}

export interface OpenLoopResult {
  readonly measuredOps: number;
  readonly failedOps: number;
  readonly notIssuedOps: number;
  readonly achievedPerS: number;
  readonly latency: LatencySummary;
  readonly saturated: boolean;
}

/** What an open-loop op is told about itself: when it should have started, and whether it counts. */
export interface OpSchedule {
  /** Its intended start on the schedule, in the loop clock's ms. */
  readonly intendedMs: number;
  /** False for ops scheduled in the warm-up, which are issued but not measured. */
  readonly measured: boolean;
}

/** Timer tick of the schedule: ops due within a tick are issued together. */
const TICK_MS = 1;

/**
 * Issues `op(i)` at `start + i / ratePerS` for `warmupMs + durationMs`, never waiting
 * for completions; records each op's latency from its intended start, which the op is
 * told (with whether it is measured) so that it can time later stages from the same origin. An op that
 * rejects is counted as failed (its latency is not recorded). Ops still outstanding
 * after `drainMs` are recorded at the latency they had reached then, and the step
 * counts as saturated.
 */
export async function openLoop(
  op: (index: number, schedule: OpSchedule) => Promise<unknown>,
  options: OpenLoopOptions,
): Promise<OpenLoopResult> {
  const { ratePerS, durationMs, warmupMs, outstandingMax, drainMs, clock = REAL_CLOCK } = options;
  const histogram = new LatencyHistogram();
  const intervalMs = 1000 / ratePerS;
  const total = Math.max(1, Math.floor(((warmupMs + durationMs) * ratePerS) / 1000));
  const firstMeasured = Math.floor((warmupMs * ratePerS) / 1000);
  /** Outstanding ops: index → intended start. */
  const pending = new Map<number, number>();
  let failed = 0;
  let completedMeasured = 0;
  let completedInWindow = 0;
  let cut = false;
  const start = clock.nowMs();
  const windowStart = start + firstMeasured * intervalMs;
  const windowEnd = windowStart + durationMs;
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor((clock.nowMs() - start) / intervalMs) + 1);
    for (; issued < due; issued++) {
      if (pending.size >= outstandingMax) {
        cut = true;
        break;
      }
      const index = issued;
      const intendedMs = start + index * intervalMs;
      pending.set(index, intendedMs);
      op(index, { intendedMs, measured: index >= firstMeasured }).then(
        () => {
          if (!pending.delete(index)) return;
          const end = clock.nowMs();
          if (end >= windowStart && end < windowEnd) completedInWindow++;
          if (index < firstMeasured) return;
          histogram.recordMs(end - intendedMs);
          completedMeasured++;
        },
        () => {
          if (pending.delete(index) && index >= firstMeasured) failed++;
        },
      );
    }
    if (cut) break;
    await clock.sleep(TICK_MS);
  }
  const drainUntil = clock.nowMs() + drainMs;
  while (pending.size > 0 && clock.nowMs() < drainUntil) await clock.sleep(5);
  let stuck = 0;
  for (const [index, intendedMs] of pending)
    if (index >= firstMeasured) {
      histogram.recordMs(clock.nowMs() - intendedMs);
      stuck++;
    }
  pending.clear();
  // Completions (of any op) inside the measured window: the rate the system sustained.
  const windowS = (Math.min(windowEnd, clock.nowMs()) - windowStart) / 1000;
  const achievedPerS = windowS > 0 ? completedInWindow / windowS : 0;
  return {
    measuredOps: completedMeasured + stuck,
    failedOps: failed,
    notIssuedOps: total - issued,
    achievedPerS,
    latency: histogram.summary(),
    saturated: cut || stuck > 0 || failed > 0 || achievedPerS < 0.95 * ratePerS,
  };
}
