/**
 * What every replay case does, whatever the store: write the log through the
 * PrimaryWriter, then time, on one opened store, the decode-only pass (read, verify and
 * decode every record, nothing applied) and the replay into a fresh KvStateMachine
 * (src/snapshot/replay.ts), and the state hash replay() ends with, again alone.
 */
import { decodeVerifiedRecord } from '../../core/record-codec.js';
import { seq } from '../../core/types.js';
import { PrimaryWriter } from '../../primary/primary-writer.js';
import { replay } from '../../snapshot/replay.js';
import { KvStateMachine } from '../../snapshot/state-machine.js';
import type { LogStore } from '../../stores/log-store.js';
import type { BenchPlan } from '../plan.js';
import type { Workload } from '../workload.js';

/** Entries per appendAll call while writing the log, and calls in flight. */
const CHUNK_ENTRIES = 4_096;
const CHUNKS_IN_FLIGHT = 4;

/** Writes `entries` puts through a PrimaryWriter (default limits) to `stores`, and closes the writer. */
export async function writeLog(
  plan: BenchPlan,
  stores: LogStore[],
  entries: number,
  workload: Workload,
): Promise<void> {
  const writer = await PrimaryWriter.start({ stores, compression: plan.compression });
  try {
    const inFlight: Promise<unknown>[] = [];
    for (let done = 0; done < entries; done += CHUNK_ENTRIES) {
      const count = Math.min(CHUNK_ENTRIES, entries - done);
      inFlight.push(Promise.all(writer.appendAll(workload.ops(done, count))));
      if (inFlight.length >= CHUNKS_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await writer.close();
  }
}

export interface PassTimes {
  /** Bytes of every record read in the decode-only pass. */
  readonly recordBytes: number;
  readonly decodeSeconds: number;
  /** replay() from seq 1, the store already open; it ends with the state hash. */
  readonly replaySeconds: number;
  readonly stateHashSeconds: number;
}

/**
 * The decode-only pass, then the replay, on `store` (open); throws unless both saw
 * exactly `entries` entries: a bench that measured a short log would be wrong.
 */
export async function timePasses(plan: BenchPlan, store: LogStore, entries: number): Promise<PassTimes> {
  let t0 = performance.now();
  let decoded = 0;
  let recordBytes = 0;
  for await (const record of store.read(seq(1n))) {
    recordBytes += record.bytes.length;
    decoded += decodeVerifiedRecord(record, plan.compression).length;
  }
  const decodeSeconds = (performance.now() - t0) / 1000;
  if (decoded !== entries)
    throw new Error(`replay bench (${store.kind}): decoded ${decoded} entries, wrote ${entries}`);

  t0 = performance.now();
  const stateMachine = new KvStateMachine();
  const result = await replay({ store, stateMachine, compression: plan.compression });
  const replaySeconds = (performance.now() - t0) / 1000;
  // replay() ends with the state hash (sort every key, hash it all): timed again
  // alone, so the report can say how much of the replay it is.
  t0 = performance.now();
  stateMachine.hash();
  const stateHashSeconds = (performance.now() - t0) / 1000;
  if (result.replayedEntries !== entries)
    throw new Error(
      `replay bench (${store.kind}): replayed ${result.replayedEntries} entries, wrote ${entries}`,
    );
  return { recordBytes, decodeSeconds, replaySeconds, stateHashSeconds };
}
