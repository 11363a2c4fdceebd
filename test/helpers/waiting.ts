/** Waiting on real-timer shells (standby, writer) in integration tests, always bounded. */
import type { Entry } from '../../src/core/types.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';

/** Polls `predicate` every 10 ms; returns how long it took, or throws after `timeoutMs`. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<number> {
  const start = performance.now();
  while (!(await predicate())) {
    if (performance.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - start;
}

/**
 * Polls `probe` every 50 ms until it returns a value (a probe that throws counts as not
 * yet), and returns it; throws naming `what` after `timeoutMs`.
 */
export async function untilValue<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A key-value state machine that records every seq it applies, in order. */
export class CheckedKv extends KvStateMachine {
  readonly seqs: bigint[] = [];
  override apply(entry: Entry): void {
    this.seqs.push(entry.seq);
    super.apply(entry);
  }
}
