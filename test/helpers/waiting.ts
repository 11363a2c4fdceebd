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

/** A key-value state machine that records every seq it applies, in order. */
export class CheckedKv extends KvStateMachine {
  readonly seqs: bigint[] = [];
  override apply(entry: Entry): void {
    this.seqs.push(entry.seq);
    super.apply(entry);
  }
}
