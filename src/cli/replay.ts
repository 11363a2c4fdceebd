/**
 * `oplog replay`: rebuild a node's state from the newest usable snapshot plus the log,
 * up to the head, a seq (`--to-seq`) or a time (`--to-time`, point-in-time restore),
 * and print the state hash (equal to the primary's at the same seq). A damaged
 * snapshot is passed over for the one before it, with a warning naming it. Reads
 * only: the file store is opened as a reader, so a running writer is not disturbed.
 *
 * Exit codes: 0 rebuilt; 2 bad arguments, no such log, or `--to-seq` past the head;
 * 1 the log or every usable snapshot is damaged or unreachable (the message names the
 * seq or file).
 */
import type { Command } from 'commander';
import { loadZstd } from '../compression/zstd.js';
import { InvalidInputError } from '../core/errors.js';
import { replay } from '../snapshot/replay.js';
import { FileSnapshotStore, hex } from '../snapshot/snapshot-store.js';
import { KvStateMachine } from '../snapshot/state-machine.js';
import { examples, runSubcommand, subcommand, type CliIo } from './command.js';
import { choiceOption, pathOption, seqOption, timeOption } from './flags.js';
import {
  addStoreOptions,
  openStore,
  STORE_KINDS,
  stopReason,
  type StoreFlags,
  type StoreKind,
} from './stores.js';

interface ReplayFlags extends StoreFlags {
  readonly store: StoreKind;
  readonly snapshotDir?: string;
  /** False with `--no-snapshot`. */
  readonly snapshot: boolean;
  readonly toSeq?: bigint;
  readonly toTime?: number;
}

export function defineReplay(io: CliIo): Command {
  const command = subcommand<ReplayFlags>('replay', io, run)
    .description(
      'rebuild a node from the newest usable snapshot plus the log (to the head, a seq or a time) and print its state hash',
    )
    .addOption(choiceOption('--store <kind>', 'which store to read the log from', STORE_KINDS, 'file'));
  return addStoreOptions(command)
    .addOption(
      pathOption(
        '--snapshot-dir <dir>',
        'data directory holding <cluster-id>/snapshots (default: --data-dir)',
      ),
    )
    .option('--no-snapshot', 'replay the whole log from seq 1, ignoring snapshots')
    .addOption(seqOption('--to-seq <seq>', 'stop after this seq (at most the head)', { min: 1n }))
    .addOption(timeOption('--to-time <time>', 'stop before the first entry stamped after this time'))
    .addHelpText(
      'after',
      examples(
        [
          'oplog replay --data-dir ./data --cluster-id orders',
          'the file store, newest usable snapshot under ./data',
        ],
        ['oplog replay --data-dir ./data --to-seq 120000', 'the state exactly after seq 120000'],
        ['oplog replay --data-dir ./data --to-time 2026-01-31T12:00:00Z', 'point-in-time restore'],
        [
          'oplog replay --store etcd --etcd 10.0.0.1:2379,10.0.0.2:2379 --snapshot-dir ./data',
          'the log from etcd, snapshots from a local directory',
        ],
        [
          'oplog replay --store kafka --kafka broker:9092 --no-snapshot',
          'the whole log from Kafka, from seq 1',
        ],
      ) +
        '\nA damaged snapshot (size, checksum, manifest or state hash) is passed over for the one\nbefore it, with a warning on stderr naming it. Exit codes: 0 rebuilt; 1 damage or an\nunreachable store; 2 bad input, no such log, or --to-seq past the head.\n',
    );
}

/** `oplog replay ARGS`, for tests and embedding: typed errors propagate. */
export function replayCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return runSubcommand(defineReplay(io), argv);
}

async function run(flags: ReplayFlags, io: CliIo): Promise<number> {
  const { clusterId, toSeq, toTime: toTimeMs } = flags;
  if (toSeq !== undefined && toTimeMs !== undefined)
    throw new InvalidInputError('--to-seq/--to-time', 'give one bound, not both');
  const snapshotDir = flags.snapshotDir ?? flags.dataDir;
  if (flags.snapshot && snapshotDir === undefined)
    throw new InvalidInputError('--snapshot-dir', 'required with this store (or pass --no-snapshot)');
  const compression = await loadZstd();
  const snapshots =
    !flags.snapshot || snapshotDir === undefined
      ? undefined
      : new FileSnapshotStore({ dataDir: snapshotDir, clusterId }, compression);

  const store = await openStore(flags.store, flags);
  try {
    const stateMachine = new KvStateMachine();
    const result = await replay({
      store,
      stateMachine,
      compression,
      ...(snapshots === undefined ? {} : { snapshots }),
      ...(toSeq === undefined ? {} : { toSeq }),
      ...(toTimeMs === undefined ? {} : { toTimeMs }),
    }).catch((error: unknown) => {
      // The library names its option; the user typed the flag.
      if (error instanceof InvalidInputError && error.field === 'toSeq')
        throw new InvalidInputError('--to-seq', error.message.replace(/^invalid toSeq: /, ''), {
          cause: error,
        });
      throw error;
    });
    for (const refused of result.refusedSnapshots)
      io.err(`warning: refused the snapshot at seq ${refused.lastSeq} (${refused.path}): ${refused.reason}`);
    const snapshot = result.snapshot;
    io.out(
      snapshot === undefined
        ? 'no snapshot used: replayed from seq 1'
        : `restored snapshot at seq ${snapshot.lastSeq} (epoch ${snapshot.epoch}, ${snapshot.items} keys, taken ${snapshot.createdAt})`,
    );
    const first = (snapshot?.lastSeq ?? 0n) + 1n;
    io.out(
      result.replayedEntries === 0
        ? `replayed nothing from the ${store.kind} log (head seq ${result.headSeq})`
        : `replayed seq ${first}..${result.appliedSeq} (${result.replayedEntries} entries) from the ${store.kind} log; head seq ${result.headSeq}`,
    );
    io.out(`stopped at: ${result.stoppedAt}`);
    const cut = stopReason(store);
    if (cut !== undefined) io.err(`warning: ${cut}`);
    io.out(`applied seq ${result.appliedSeq} · epoch ${result.appliedEpoch} · ${stateMachine.size} keys`);
    io.out(`state hash ${hex(result.hash)}`);
    return 0;
  } finally {
    await store.close();
  }
}
