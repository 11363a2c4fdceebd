/**
 * `oplog demo`: the main job on the embedded default, no servers. A primary writer
 * appends puts and deletes to a file store; a standby follows the same log through a
 * second, read-only handle (it tails the files as another process would) and applies
 * it to a key-value state machine, and takes a snapshot halfway; then a fresh node is
 * rebuilt from that snapshot plus the rest of the log, and another replays the log from
 * seq 1. The four state hashes must be equal, or the command fails.
 */
import type { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadZstd } from '../compression/zstd.js';
import { InvalidInputError } from '../core/errors.js';
import { APPEND_VALUE_BYTES_MAX } from '../core/limits.js';
import { decodeVerifiedRecord } from '../core/record-codec.js';
import { seq, type Op } from '../core/types.js';
import { PrimaryWriter } from '../primary/primary-writer.js';
import { FileSnapshotStore, hex, type SnapshotManifest } from '../snapshot/snapshot-store.js';
import { KvStateMachine } from '../snapshot/state-machine.js';
import { Standby } from '../standby/standby.js';
import { FileLogStore } from '../stores/file/file-store.js';
import { examples, runSubcommand, subcommand, type CliIo } from './command.js';
import { clusterIdOption, integerOption, pathOption } from './flags.js';

/** Most entries one demo appends, and most distinct keys. */
export const DEMO_ENTRIES_MAX = 10_000_000;
export const DEMO_KEYS_MAX = 10_000_000;
/**
 * Most value bytes one demo writes (entries × value bytes), so that a run ends in
 * minutes and fits a laptop's disk.
 */
export const DEMO_LOG_BYTES_MAX = 4 * 1024 ** 3;
/**
 * Most state (distinct keys × value bytes) one demo holds: it holds it four times over
 * (primary, standby, rebuilt node, full replay), all in this process's memory.
 */
export const DEMO_STATE_BYTES_MAX = 256 * 1024 ** 2;
/** Value bytes one appendMany call carries at most (the demo's own memory per chunk). */
const CHUNK_BYTES_MAX = 16 * 1024 ** 2;
const CHUNK_ENTRIES_MAX = 2_000;

interface DemoFlags {
  readonly entries: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly dataDir?: string;
  readonly clusterId: string;
}

export function defineDemo(io: CliIo): Command {
  return subcommand<DemoFlags>('demo', io, run)
    .description(
      'append to the embedded file store, follow it with a standby, snapshot halfway, rebuild a fresh node and a full replay; all four state hashes must be equal',
    )
    .addOption(
      integerOption('--entries <count>', 'entries to append', {
        min: 1,
        max: DEMO_ENTRIES_MAX,
        default: 50_000,
      }),
    )
    .addOption(
      integerOption('--keys <count>', 'distinct keys written', {
        min: 1,
        max: DEMO_KEYS_MAX,
        default: 5_000,
      }),
    )
    .addOption(
      integerOption('--value-bytes <bytes>', 'bytes per value', {
        min: 1,
        max: APPEND_VALUE_BYTES_MAX,
        default: 256,
      }),
    )
    .addOption(
      pathOption(
        '--data-dir <dir>',
        'keep the log here (continued when it exists); default: a temporary directory, removed after',
      ),
    )
    .addOption(clusterIdOption('--cluster-id <id>', 'the cluster, i.e. which log', 'demo'))
    .addHelpText(
      'after',
      examples(
        ['oplog demo', '50,000 entries in a temporary directory'],
        ['oplog demo --entries 200000 --keys 10000 --value-bytes 1024', 'a bigger run'],
        [
          'oplog demo --data-dir ./data && oplog demo --data-dir ./data',
          'the second run continues the log under the next epoch',
        ],
      ) +
        `\nAlso bounded: entries × value-bytes ≤ ${DEMO_LOG_BYTES_MAX} (the log written) and\nmin(keys, entries) × value-bytes ≤ ${DEMO_STATE_BYTES_MAX} (the state, held four times in memory).\nExit codes: 0 the four hashes are equal; 1 they differ or a store failed; 2 bad input.\n`,
    );
}

/** `oplog demo ARGS`, for tests and embedding: typed errors propagate. */
export function demo(argv: readonly string[], io: CliIo): Promise<number> {
  return runSubcommand(defineDemo(io), argv);
}

/** Checks the rules between flags; like each flag's own, before anything is created. */
function checkBudget({ entries, keys, valueBytes }: DemoFlags): void {
  const logBytes = BigInt(entries) * BigInt(valueBytes);
  if (logBytes > BigInt(DEMO_LOG_BYTES_MAX))
    throw new InvalidInputError(
      '--entries × --value-bytes',
      `${entries} × ${valueBytes} = ${logBytes} bytes of values, over the demo's ${DEMO_LOG_BYTES_MAX}`,
    );
  const stateBytes = BigInt(Math.min(keys, entries)) * BigInt(valueBytes);
  if (stateBytes > BigInt(DEMO_STATE_BYTES_MAX))
    throw new InvalidInputError(
      '--keys × --value-bytes',
      `${Math.min(keys, entries)} keys × ${valueBytes} = ${stateBytes} bytes of state (held four times in memory), over the demo's ${DEMO_STATE_BYTES_MAX}`,
    );
}

async function run(flags: DemoFlags, io: CliIo): Promise<number> {
  checkBudget(flags);
  const keep = flags.dataDir !== undefined;
  const dataDir = flags.dataDir ?? mkdtempSync(join(tmpdir(), 'oplog-demo-'));
  try {
    return await runDemo({ ...flags, dataDir }, io);
  } finally {
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runDemo(flags: DemoFlags & { readonly dataDir: string }, io: CliIo): Promise<number> {
  const { entries, keys, valueBytes, dataDir, clusterId } = flags;
  const say = (line: string) => io.out(line);
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
  const chunk = Math.max(1, Math.min(CHUNK_ENTRIES_MAX, Math.floor(CHUNK_BYTES_MAX / valueBytes)));
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
    for (const entry of decodeVerifiedRecord(record, compression)) {
      if (entry.seq > toSeq) return count;
      target.apply(entry);
      count++;
    }
  }
  return count;
}
