/**
 * Snapshot and restore time against state size: a KvStateMachine of N keys of 512-byte
 * values (keys `state/<i>`, applied directly: the log is not what is measured) is snapshotted as a standby takes one (Standby.takeSnapshot:
 * the image and the state hash synchronously — the pause, during which nothing is
 * applied — then FileSnapshotStore.save: compress, write body and manifest atomically),
 * then dropped, and the snapshot restored into a fresh KvStateMachine as a fresh node
 * restores one (FileSnapshotStore.load: read, check size and xxh64, decompress; then
 * restoreSnapshot: decode the image, check the state hash against the manifest).
 * Baselines in the same case: the stored body's bytes written to a plain file + fsync,
 * and read back (page cache, as load() reads a just-written body).
 *
 * Every value is distinct — half JSON-like text of words drawn at random (compressible,
 * as text is), half pseudo-random bytes (not) — unlike the log workload's pool of 256
 * values, which zstd would fold into almost nothing across a whole state image and make
 * the body, and the raw baselines, unrealistically small.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { epoch, seq } from '../../core/types.js';
import { FileSnapshotStore, restoreSnapshot } from '../../snapshot/snapshot-store.js';
import { KvStateMachine } from '../../snapshot/state-machine.js';
import { FIXED_VALUE_BYTES, type BenchPlan } from '../plan.js';
import { ratio } from '../results.js';
import type { SnapshotRow } from '../results-growth.js';

interface Taken {
  readonly imageBytes: number;
  readonly pauseSeconds: number;
  readonly saveSeconds: number;
}

export async function snapshotCase(plan: BenchPlan, keys: number): Promise<SnapshotRow> {
  const dataDir = mkdtempSync(join(plan.workDir, 'oplog-bench-snapshot-'));
  try {
    const snapshots = new FileSnapshotStore(
      { dataDir, clusterId: plan.ids.take(`snapshot-${keys}`) },
      plan.compression,
    );
    // The source state lives only inside take(): restoring next to it would measure
    // a process holding two states, which a fresh node does not.
    const taken = await take(snapshots, filled(keys));
    const manifest = (await snapshots.latest())!;
    const body = await readFile(snapshots.bodyPath(manifest.lastSeq));
    const rawPath = join(dataDir, 'raw-body');
    let t0 = performance.now();
    const handle = await open(rawPath, 'w');
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const rawWriteSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    await readFile(rawPath);
    const rawReadSeconds = (performance.now() - t0) / 1000;

    t0 = performance.now();
    const loaded = await snapshots.load(manifest);
    const loadSeconds = (performance.now() - t0) / 1000;
    const restored = new KvStateMachine();
    restoreSnapshot(restored, loaded);
    const restoreSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    restored.hash();
    const restoreHashSeconds = (performance.now() - t0) / 1000;
    if (restored.size !== keys)
      throw new Error(`snapshot bench: restored ${restored.size} keys, the state had ${keys}`);

    const takeSeconds = taken.pauseSeconds + taken.saveSeconds;
    const takeKeysPerS = keys / takeSeconds;
    const restoreKeysPerS = keys / restoreSeconds;
    return {
      keys,
      valueBytes: FIXED_VALUE_BYTES,
      imageBytes: taken.imageBytes,
      bodyBytes: manifest.bodyBytes,
      takeSeconds,
      pauseSeconds: taken.pauseSeconds,
      saveSeconds: taken.saveSeconds,
      restoreSeconds,
      loadSeconds,
      restoreHashSeconds,
      rawWriteSeconds,
      rawReadSeconds,
      takeKeysPerS,
      restoreKeysPerS,
      takeOverRawWrite: ratio(takeKeysPerS, keys / rawWriteSeconds),
      restoreOverRawRead: ratio(restoreKeysPerS, keys / rawReadSeconds),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A state of `keys` distinct keys, each with a distinct 512-byte value. */
function filled(keys: number): KvStateMachine {
  const state = new KvStateMachine();
  for (let i = 0; i < keys; i++)
    state.apply({
      type: 'put',
      key: `state/${i}`,
      value: distinctValue(i, FIXED_VALUE_BYTES),
      seq: seq(BigInt(i + 1)),
      epoch: epoch(1n),
      ts: 0,
      checksum: 0n,
    });
  return state;
}

async function take(snapshots: FileSnapshotStore, state: KvStateMachine): Promise<Taken> {
  const lastSeq = BigInt(state.size);
  let t0 = performance.now();
  const image = state.snapshot();
  const stateHash = state.hash();
  const pauseSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await snapshots.save({ lastSeq, epoch: 1n, lastEntryTs: 0, image, stateHash });
  const saveSeconds = (performance.now() - t0) / 1000;
  return { imageBytes: image.bytes.length, pauseSeconds, saveSeconds };
}

const WORDS = (
  'alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega red green blue ' +
  'amber north south east west river stone cloud paper glass iron maple cedar pine ' +
  'quick brown lazy fox dog order item price total user email active pending done'
).split(' ');

/** Value `index`: JSON-like text of random words (even), or xorshift bytes (odd). */
export function distinctValue(index: number, valueBytes: number): Uint8Array {
  let x = (index * 2654435761 + 1) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  if (index % 2 === 1) {
    const out = new Uint8Array(valueBytes);
    for (let i = 0; i < valueBytes; i++) out[i] = next() & 0xff;
    return out;
  }
  let note = '';
  while (note.length < valueBytes) note += `${WORDS[next() % WORDS.length]} `;
  const text = JSON.stringify({ id: index, user: `user-${index}`, email: `user${index}@example.com`, note });
  return new TextEncoder().encode(text.slice(0, valueBytes).padEnd(valueBytes, ' '));
}
