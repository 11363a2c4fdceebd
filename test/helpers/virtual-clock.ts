/**
 * Virtual time for code that takes a LoopClock (src/bench/loops.ts): `sleep` registers
 * a timer, and `run` lets every promise settle, then jumps to the earliest timer, until
 * the code under test finishes. No real time passes, so a test of a 1 s bench loop
 * runs in milliseconds and gives the same answer every time.
 */
import type { LoopClock } from '../../src/bench/loops.js';

interface Timer {
  readonly atMs: number;
  readonly order: number;
  readonly resolve: () => void;
}

export class VirtualClock implements LoopClock {
  private now = 0;
  private order = 0;
  private timers: Timer[] = [];
  private pauses: { fromMs: number; toMs: number }[] = [];

  /**
   * The whole process stops from `atMs` for `forMs` (a GC pause, SIGSTOP): no timer
   * fires in between; those due then fire at the end, in order.
   */
  pause(atMs: number, forMs: number): void {
    this.pauses.push({ fromMs: atMs, toMs: atMs + forMs });
  }

  nowMs(): number {
    return this.now;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timers.push({ atMs: this.now + Math.max(0, ms), order: this.order++, resolve });
    });
  }

  /** Runs `body` to completion in virtual time; at most `stepsMax` timer jumps. */
  async run<T>(body: () => Promise<T>, stepsMax = 1_000_000): Promise<T> {
    let settled: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    body().then(
      (value) => (settled = { ok: true, value }),
      (error: unknown) => (settled = { ok: false, error }),
    );
    for (let step = 0; step < stepsMax; step++) {
      // A macrotask turn: every microtask queued so far (and those they queue) has run.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (settled !== undefined) {
        if (settled.ok) return settled.value;
        throw settled.error;
      }
      this.timers.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
      const next = this.timers.shift();
      if (next === undefined)
        throw new Error('virtual clock: nothing scheduled and the body has not finished');
      const paused = this.pauses.find((p) => next.atMs >= p.fromMs && next.atMs < p.toMs);
      this.now = Math.max(this.now, paused === undefined ? next.atMs : paused.toMs);
      next.resolve();
    }
    throw new Error(`virtual clock: over ${stepsMax} steps`);
  }
}

/**
 * A server that serves one request at a time: each request waits for those before it,
 * then takes `serviceMs(index)` of virtual time.
 */
export function serialServer(clock: VirtualClock, serviceMs: (index: number) => number) {
  let freeAtMs = 0;
  let served = 0;
  return (): Promise<void> => {
    const startMs = Math.max(clock.nowMs(), freeAtMs);
    freeAtMs = startMs + serviceMs(served++);
    return clock.sleep(freeAtMs - clock.nowMs());
  };
}
