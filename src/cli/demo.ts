/**
 * `oplog demo`: the main job on the embedded default, no servers. A primary writer
 * appends puts and deletes to a file store; a standby follows the same log through a
 * second, read-only handle (it tails the files as another process would) and applies
 * it to a key-value state machine, and takes a snapshot halfway; then a fresh node is
 * rebuilt from that snapshot plus the rest of the log, and another replays the log from
 * seq 1. The four state hashes must be equal, or the command fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadZstd } from '../compression/zstd.js';
import { decodeRecord } from '../core/record-codec.js';
import { seq, type Op } from '../core/types.js';
import { PrimaryWriter } from '../primary/primary-writer.js';
import { FileSnapshotStore, hex, type SnapshotManifest } from '../snapshot/snapshot-store.js';
import { KvStateMachine } from '../snapshot/state-machine.js';
import { Standby } from '../standby/standby.js';
import { FileLogStore } from '../stores/file/file-store.js';

export async function demo(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      entries: { type: 'string', default: '50000' },
      keys: { type: 'string', default: '5000' },
      'value-bytes': { type: 'string', default: '256' },
      'data-dir': { type: 'string' },
      'cluster-id': { type: 'string', default: 'demo' },
    },
  });
  const entries = positive('entries', values.entries);
  const keys = positive('keys', values.keys);
  const valueBytes = positive('value-bytes', values['value-bytes']);
  const keep = values['data-dir'] !== undefined;
  const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'oplog-demo-'));
  const clusterId = values['cluster-id'];
  const compression = await loadZstd();

  const writerStore = await FileLogStore.open({ dataDir, clusterId });
  const readerStore = await FileLogStore.open({ dataDir, clusterId, mode: 'reader', pollIntervalMs: 20 });
  const primary = await PrimaryWriter.start({ stores: [writerStore], compression });
  const expected = new KvStateMachine();
  const standbyState = new KvStateMachine();
  const standby = new Standby({ source: readerStore, stateMachine: standbyState, compression });
  const snapshots = new FileSnapshotStore({ dataDir, clusterId }, compression);
  let snapshot: SnapshotManifest | undefined;
  const startSeq = primary.nextSeq;
  // A standby on an existing log first catches up with what is already there.
  const replayedBefore = await replayInto(expected, readerStore, compression, startSeq - 1n);
  standby.start();
  say(`data dir ${dataDir} · cluster ${clusterId} · epoch ${primary.epoch} · continuing at seq ${startSeq}`);

  const started = performance.now();
  const chunk = 2_000;
  let lastSeq = startSeq - 1n;
  for (let done = 0; done < entries; done += chunk) {
    const ops: Op[] = [];
    for (let i = done; i < Math.min(entries, done + chunk); i++) ops.push(demoOp(i, keys, valueBytes));
    const seqs = await primary.appendMany(ops);
    seqs.forEach((s, i) => expected.apply({ ...ops[i]!, seq: s, epoch: primary.epoch, ts: 0, checksum: 0n }));
    lastSeq = seqs.at(-1) ?? lastSeq;
    if (snapshot === undefined && lastSeq - startSeq + 1n >= BigInt(Math.ceil(entries / 2))) {
      // Halfway: the standby snapshots its state (taken between two applies) while the
      // primary goes on writing.
      await standby.waitForApplied(lastSeq);
      snapshot = await standby.takeSnapshot(snapshots);
    }
  }
  const appendSeconds = (performance.now() - started) / 1000;
  await standby.waitForApplied(lastSeq);
  const followSeconds = (performance.now() - started) / 1000;
  const followed = standby.status;
  await primary.close();
  await standby.stop();

  // A fresh node: the latest snapshot, then the log from its lastSeq + 1.
  const rebuiltState = new KvStateMachine();
  const rebuilt = new Standby({ source: readerStore, stateMachine: rebuiltState, compression });
  const installed = await rebuilt.installSnapshot(async () => snapshots.load((await snapshots.latest())!));
  await rebuilt.waitForApplied(lastSeq);
  await rebuilt.stop();
  await snapshots.prune(2);

  const fresh = new KvStateMachine();
  await replayInto(fresh, readerStore, compression, lastSeq);
  await writerStore.close();
  await readerStore.close();
  if (!keep) rmSync(dataDir, { recursive: true, force: true });

  const hashes = {
    primary: expected.hash(),
    standby: standbyState.hash(),
    snapshot: rebuiltState.hash(),
    replay: fresh.hash(),
  };
  say(
    `appended ${entries} entries (seq ${startSeq}..${lastSeq}) in ${appendSeconds.toFixed(2)} s: ${Math.round(entries / appendSeconds)} entries/s, each durable (fdatasync) before its ack`,
  );
  say(
    `standby applied through seq ${standby.status.appliedSeq} ${(followSeconds - appendSeconds) * 1000 < 1 ? 'at once' : `${((followSeconds - appendSeconds) * 1000).toFixed(0)} ms after the last ack`}; state ${followed.state}, ${standbyState.size} keys`,
  );
  say(
    `snapshot at seq ${installed.lastSeq} (${installed.items} keys, ${installed.bodyBytes} bytes zstd); a fresh node restored it and replayed seq ${installed.lastSeq + 1n}..${lastSeq}`,
  );
  if (replayedBefore > 0n) say(`(the log already held ${replayedBefore} entries, replayed first)`);
  for (const [name, hash] of Object.entries(hashes)) say(`state hash ${name.padEnd(8)} ${hex(hash)}`);
  const equal = new Set(Object.values(hashes)).size === 1;
  say(
    equal
      ? 'OK: primary, standby, snapshot + replay and a full replay hold the same state'
      : 'FAILED: the states differ',
  );
  return equal ? 0 : 1;
}

function demoOp(index: number, keys: number, valueBytes: number): Op {
  const key = `key-${(index * 7919) % keys}`;
  if (index % 10 === 9) return { type: 'delete', key, value: new Uint8Array(0) };
  const value = Buffer.alloc(valueBytes, `{"i":${index},"payload":"${'abcdefgh'.repeat(4)}"}`);
  return { type: 'put', key, value };
}

/** Applies every entry with seq ≤ toSeq from the log to `target`; returns how many. */
async function replayInto(
  target: KvStateMachine,
  store: FileLogStore,
  compression: Awaited<ReturnType<typeof loadZstd>>,
  toSeq: bigint,
): Promise<bigint> {
  let count = 0n;
  if (toSeq < 1n) return count;
  for await (const record of store.read(seq(1n))) {
    for (const entry of decodeRecord(record.bytes, compression).entries) {
      if (entry.seq > toSeq) return count;
      target.apply(entry);
      count++;
    }
  }
  return count;
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
