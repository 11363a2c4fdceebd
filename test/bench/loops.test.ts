/**
 * The bench's load loops (src/bench/loops.ts), in virtual time against a serial server
 * whose service times the test chooses: the closed loop measures throughput at a
 * concurrency; the open loop issues on schedule and measures from each op's intended
 * start, so a stall is charged to every op scheduled during it (coordinated omission
 * avoided), and an overloaded server is reported saturated, with the step cut at its
 * outstanding bound.
 */
import { describe, expect, it } from 'vitest';
import { closedLoop, openLoop } from '../../src/bench/loops.js';
import { serialServer, VirtualClock } from '../helpers/virtual-clock.js';

describe('closedLoop', () => {
  it('N callers of a 1 ms serial server: 1,000 ops/s, each waiting behind the others', async () => {
    const clock = new VirtualClock();
    const server = serialServer(clock, () => 1);
    const result = await clock.run(() =>
      closedLoop(server, { clients: 4, durationMs: 1_000, warmupMs: 100, clock }),
    );
    // Ops started in the measured second: ~1,000, give or take the ones in flight at its edges.
    expect(result.ops).toBeGreaterThanOrEqual(996);
    expect(result.ops).toBeLessThanOrEqual(1_004);
    expect(result.seconds).toBeCloseTo(1, 2);
    expect(result.latency.p50Ms).toBeCloseTo(4, 1);
    expect(result.latency.count).toBe(result.ops);
  });

  it('a caller slower than the window still completes one measured op, within its bound', async () => {
    const clock = new VirtualClock();
    const server = serialServer(clock, () => 300);
    const result = await clock.run(() =>
      closedLoop(server, { clients: 1, durationMs: 50, warmupMs: 20, clock }),
    );
    expect(result.ops).toBe(1);
    expect(result.latency.p50Ms).toBeGreaterThanOrEqual(300);
  });
});

describe('openLoop', () => {
  const options = { durationMs: 1_000, warmupMs: 0, outstandingMax: 1_000, drainMs: 2_000 };

  it('under capacity: every op completes in its service time after its intended start', async () => {
    const clock = new VirtualClock();
    const result = await clock.run(() =>
      openLoop(
        serialServer(clock, () => 2),
        { ...options, ratePerS: 100, clock },
      ),
    );
    expect(result.measuredOps).toBe(100);
    expect(result.failedOps).toBe(0);
    expect(result.saturated).toBe(false);
    expect(result.achievedPerS).toBeGreaterThanOrEqual(95);
    // Issued at the first 1 ms tick at or after its intended start: 2..3 ms.
    expect(result.latency.p50Ms).toBeGreaterThanOrEqual(2);
    expect(result.latency.maxMs).toBeLessThanOrEqual(3.01);
  });

  it('a 200 ms stall is charged to every op scheduled during it, not to one op (no coordinated omission)', async () => {
    const stall = (index: number) => (index === 50 ? 200 : 1);
    const open = new VirtualClock();
    const result = await open.run(() =>
      openLoop(serialServer(open, stall), { ...options, ratePerS: 100, clock: open }),
    );
    // Op 50 (intended at 500 ms) holds the server until 700 ms; ops 51…69, intended at
    // 510…690 ms, wait behind it: ten ops over 100 ms, the worst 200 ms.
    expect(result.latency.maxMs).toBeGreaterThanOrEqual(199);
    expect(result.latency.p99Ms).toBeGreaterThanOrEqual(180);
    expect(result.latency.p50Ms).toBeLessThan(3);

    // A closed-loop client sees the same stall once: it waits, and sends nothing meanwhile.
    const closed = new VirtualClock();
    const measured = await closed.run(() =>
      closedLoop(serialServer(closed, stall), { clients: 1, durationMs: 1_000, warmupMs: 0, clock: closed }),
    );
    expect(measured.latency.maxMs).toBeGreaterThanOrEqual(199);
    expect(measured.latency.p99Ms).toBeLessThan(2);
  });

  it('a paused sender: ops sent late are measured from when they should have been sent', async () => {
    const clock = new VirtualClock();
    // The process stops for 200 ms at 500 ms: ops 50…69 are sent together at 700 ms and
    // are served in 1 ms each, so from their actual send they took 1…20 ms; from their
    // intended start, 200 ms down to 20.
    clock.pause(500, 200);
    const result = await clock.run(() =>
      openLoop(
        serialServer(clock, () => 1),
        { ...options, ratePerS: 100, clock },
      ),
    );
    expect(result.measuredOps).toBe(100);
    expect(result.latency.maxMs).toBeGreaterThanOrEqual(200);
    expect(result.latency.p99Ms).toBeGreaterThanOrEqual(180);
    expect(result.latency.p50Ms).toBeLessThan(3);
  });

  it('over capacity: saturated, completions at the service rate, the step cut at its outstanding bound', async () => {
    const clock = new VirtualClock();
    const result = await clock.run(() =>
      openLoop(
        serialServer(clock, () => 20),
        { ...options, ratePerS: 100, outstandingMax: 30, clock },
      ),
    );
    expect(result.saturated).toBe(true);
    expect(result.notIssuedOps).toBeGreaterThan(0);
    expect(result.achievedPerS).toBeGreaterThan(40);
    expect(result.achievedPerS).toBeLessThanOrEqual(51);
    // Latency from intended start grows as the queue does: far above the 20 ms service time.
    expect(result.latency.p99Ms).toBeGreaterThan(200);
  });

  it('tells each op its intended start on the schedule and whether it is measured', async () => {
    const clock = new VirtualClock();
    clock.pause(500, 200);
    const told: { index: number; intendedMs: number; measured: boolean; sentMs: number }[] = [];
    await clock.run(() =>
      openLoop(
        async (index, schedule) => {
          told.push({ index, ...schedule, sentMs: clock.nowMs() });
          await clock.sleep(1);
        },
        { ...options, ratePerS: 100, warmupMs: 100, clock },
      ),
    );
    expect(told).toHaveLength(110);
    for (const t of told) {
      expect(t.intendedMs).toBeCloseTo(t.index * 10, 6);
      expect(t.measured).toBe(t.index >= 10);
    }
    // Sent late by the pause, still told when it should have started.
    expect(told[60]!.sentMs).toBe(700);
    expect(told[60]!.intendedMs).toBeCloseTo(600, 6);
  });

  it('ops that reject are counted as failed and make the step saturated', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const result = await clock.run(() =>
      openLoop(() => (++calls % 10 === 0 ? Promise.reject(new Error('refused')) : clock.sleep(1)), {
        ...options,
        ratePerS: 100,
        clock,
      }),
    );
    expect(result.failedOps).toBe(10);
    expect(result.measuredOps).toBe(90);
    expect(result.saturated).toBe(true);
  });
});
