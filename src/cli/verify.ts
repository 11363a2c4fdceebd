/**
 * `oplog verify`: reads every given store end to end and checks what the invariants
 * promise: every record passes its checksums (header, body, each entry), seqs are
 * contiguous, epochs never go down along seq, and the stores hold byte-identical
 * records wherever they overlap. A store that is only *behind* another (a write that
 * reached some stores before a crash) is reported, not failed: the next writer start
 * copies what it misses. Snapshots (`--snapshot-dir`, or those beside the file store
 * under `--data-dir`) are checked as replay would use them: manifest, body size and
 * checksum, and the state hash once restored.
 *
 * Exit codes: 0 every store and snapshot sound and the stores identical where they
 * overlap; 1 damage, a gap, an epoch going down, different bytes at one seq, or a
 * damaged snapshot (each line names the store or file, and the seq); 2 bad arguments or
 * no such log.
 */
import { xxh64 } from '@node-rs/xxhash';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadZstd } from '../compression/zstd.js';
import type { Compression } from '../core/compression.js';
import { InvalidClusterIdError, InvalidInputError, TruncatedError } from '../core/errors.js';
import { decodeVerifiedRecord } from '../core/record-codec.js';
import { seq as toSeq } from '../core/types.js';
import {
  describeError,
  FileSnapshotStore,
  type SnapshotStore,
  restoreSnapshot,
  snapshotsDir,
} from '../snapshot/snapshot-store.js';
import { KvStateMachine } from '../snapshot/state-machine.js';
import type { LogStore } from '../stores/log-store.js';
import { examples, runSubcommand, subcommand, type CliIo } from './command.js';
import { pathOption } from './flags.js';
import { addStoreOptions, givenStores, openStore, recoveryFindings, type StoreFlags } from './stores.js';

interface VerifyFlags extends StoreFlags {
  readonly snapshotDir?: string;
}

interface StoreScan {
  readonly kind: string;
  /** firstSeq → xxh64 of the record's bytes. */
  readonly digests: Map<bigint, bigint>;
  firstSeq: bigint;
  lastSeq: bigint;
  records: number;
  entries: number;
  maxEpoch: bigint;
  readonly problems: string[];
  /** Not damage, but worth an operator's eye: a torn tail past the recovery point, a cut. */
  readonly findings: string[];
}

export function defineVerify(io: CliIo): Command {
  const command = subcommand<VerifyFlags>('verify', io, run).description(
    'check checksums, contiguity and epochs of every given store, that they are identical where they overlap, and the snapshots',
  );
  return addStoreOptions(command)
    .addOption(
      pathOption(
        '--snapshot-dir <dir>',
        'data directory holding <cluster-id>/snapshots to check (default: --data-dir, when it has snapshots)',
      ),
    )
    .addHelpText(
      'after',
      examples(
        ['oplog verify --data-dir ./data --cluster-id orders', 'the file store and the snapshots beside it'],
        [
          'oplog verify --data-dir ./data --etcd 127.0.0.1:2379 --kafka broker:9092',
          'three stores, and that they hold the same records',
        ],
        ['oplog verify --snapshot-dir ./backup --cluster-id orders', 'only the snapshots under ./backup'],
      ) +
        '\nExit codes: 0 sound; 1 damage found (each line names the store or file and the seq);\n2 bad input or no such log.\n',
    );
}

/** `oplog verify ARGS`, for tests and embedding: typed errors propagate. */
export function verifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return runSubcommand(defineVerify(io), argv);
}

async function run(flags: VerifyFlags, io: CliIo): Promise<number> {
  const kinds = givenStores(flags);
  const snapshots = snapshotsToCheck(flags);
  if (kinds.length === 0 && snapshots === undefined)
    throw new InvalidInputError('stores', 'give at least one of --data-dir, --etcd, --kafka, --snapshot-dir');
  const compression = await loadZstd();
  const scans: StoreScan[] = [];
  for (const kind of kinds) {
    let store: LogStore;
    try {
      store = await openStore(kind, flags);
    } catch (error) {
      // Bad arguments stay errors; a store that cannot be opened (damage found on
      // open, say) is a finding like any other.
      if (error instanceof InvalidInputError || error instanceof InvalidClusterIdError) throw error;
      scans.push({ ...emptyScan(kind), problems: [`cannot open: ${describeError(error)}`] });
      continue;
    }
    try {
      const scanned = await scan(store, compression);
      scanned.findings.push(...recoveryFindings(store));
      scans.push(scanned);
    } finally {
      await store.close();
    }
  }
  let sound = reportStores(scans, io);
  if (snapshots !== undefined)
    sound = (await checkSnapshots(new FileSnapshotStore(snapshots, compression), scans, io)) && sound;
  const findings = scans.reduce((n, s) => n + s.findings.length, 0);
  io.out(!sound ? 'FAILED' : findings > 0 ? `FINDINGS (${findings}; no damage)` : 'OK');
  return sound ? 0 : 1;
}

/**
 * Where the snapshots to check are: `--snapshot-dir` (which must hold the cluster's
 * snapshots directory: a typo is bad input), else `--data-dir` when snapshots are there.
 */
function snapshotsToCheck(flags: VerifyFlags): { dataDir: string; clusterId: string } | undefined {
  const { clusterId } = flags;
  if (flags.snapshotDir !== undefined) {
    const where = snapshotsDir(flags.snapshotDir, clusterId);
    if (!existsSync(where))
      throw new InvalidInputError(
        '--snapshot-dir',
        `no snapshots of cluster ${clusterId} under ${flags.snapshotDir}`,
      );
    return { dataDir: flags.snapshotDir, clusterId };
  }
  if (flags.dataDir === undefined) return undefined;
  const beside = snapshotsDir(flags.dataDir, clusterId);
  return existsSync(beside) ? { dataDir: flags.dataDir, clusterId } : undefined;
}

function reportStores(scans: readonly StoreScan[], io: CliIo): boolean {
  let sound = true;
  for (const s of scans) {
    if (s.records > 0 || s.problems.length === 0)
      io.out(
        s.records === 0
          ? `${s.kind}: empty`
          : `${s.kind}: seq ${s.firstSeq}..${s.lastSeq} · ${s.records} records · ${s.entries} entries · epoch ≤ ${s.maxEpoch}`,
      );
    for (const problem of s.problems) io.out(`${s.kind}: ${problem}`);
    for (const finding of s.findings) io.out(`${s.kind}: finding: ${finding}`);
    if (s.problems.length > 0) sound = false;
  }
  const [reference, ...others] = scans;
  for (const other of others) {
    const differing = [...other.digests].filter(([first, digest]) => {
      const mine = reference!.digests.get(first);
      return mine !== undefined && mine !== digest;
    });
    const shared = [...other.digests.keys()].filter((first) => reference!.digests.has(first)).length;
    if (differing.length > 0) {
      sound = false;
      io.out(
        `${reference!.kind} and ${other.kind} DIFFER at record seq ${differing.map(([first]) => first).join(', ')}`,
      );
    } else io.out(`${reference!.kind} and ${other.kind}: ${shared} shared records byte-identical`);
    const bothRead = reference!.problems.length === 0 && other.problems.length === 0;
    if (bothRead && other.lastSeq !== reference!.lastSeq)
      io.out(
        `${reference!.kind} head ${reference!.lastSeq}, ${other.kind} head ${other.lastSeq}: the shorter one is behind (the next writer start copies what it misses)`,
      );
  }
  return sound;
}

/**
 * Checks every snapshot as replay would use it: a manifest that parses, a body of its
 * size and checksum that inflates to its raw size, and a restored state with its hash;
 * and none ahead of a store that was read. One line per snapshot.
 */
async function checkSnapshots(
  snapshots: SnapshotStore,
  scans: readonly StoreScan[],
  io: CliIo,
): Promise<boolean> {
  const { manifests, refused } = await snapshots.scan();
  const problems = refused.map((r) => ({
    lastSeq: r.lastSeq,
    line: `snapshot at seq ${r.lastSeq}: DAMAGED manifest ${r.path}: ${r.reason}`,
  }));
  const good: { lastSeq: bigint; line: string }[] = [];
  const heads = scans.filter((s) => s.problems.length === 0);
  for (const manifest of manifests) {
    try {
      restoreSnapshot(new KvStateMachine(), await snapshots.load(manifest));
    } catch (error) {
      problems.push({
        lastSeq: manifest.lastSeq,
        line: `snapshot at seq ${manifest.lastSeq}: DAMAGED ${snapshots.describe(manifest.lastSeq)}: ${describeError(error)}`,
      });
      continue;
    }
    const behind = heads.filter((s) => s.lastSeq < manifest.lastSeq);
    if (behind.length > 0) {
      problems.push({
        lastSeq: manifest.lastSeq,
        line: `snapshot at seq ${manifest.lastSeq}: ahead of the ${behind.map((s) => `${s.kind} log (head ${s.lastSeq})`).join(', ')}`,
      });
      continue;
    }
    good.push({
      lastSeq: manifest.lastSeq,
      line: `snapshot at seq ${manifest.lastSeq}: sound (epoch ${manifest.epoch}, ${manifest.items} keys, ${manifest.bodyBytes} bytes, state hash ${manifest.stateHash})`,
    });
  }
  const lines = [...good, ...problems].sort((a, b) =>
    a.lastSeq < b.lastSeq ? -1 : a.lastSeq > b.lastSeq ? 1 : 0,
  );
  if (lines.length === 0) io.out(`snapshots: none under ${snapshots.location}`);
  else io.out(`snapshots: ${lines.length} under ${snapshots.location}`);
  for (const { line } of lines) io.out(line);
  return problems.length === 0;
}

/** Reads the whole retained log of one store; damage becomes a problem line, not a crash. */
function emptyScan(kind: string): StoreScan {
  return {
    kind,
    digests: new Map(),
    firstSeq: 0n,
    lastSeq: 0n,
    records: 0,
    entries: 0,
    maxEpoch: 0n,
    problems: [],
    findings: [],
  };
}

async function scan(store: LogStore, compression: Compression): Promise<StoreScan> {
  const result = emptyScan(store.kind);
  let from = 1n;
  for (;;) {
    try {
      for await (const record of store.read(toSeq(from))) {
        if (result.records === 0) result.firstSeq = record.firstSeq;
        else if (record.firstSeq !== result.lastSeq + 1n)
          result.problems.push(`gap: seq ${result.lastSeq + 1n}..${record.firstSeq - 1n} missing`);
        if (record.epoch < result.maxEpoch)
          result.problems.push(
            `epoch goes down at seq ${record.firstSeq}: ${record.epoch} after ${result.maxEpoch}`,
          );
        try {
          result.entries += decodeVerifiedRecord(record, compression).length;
        } catch (error) {
          result.problems.push(`record at seq ${record.firstSeq}: ${describeError(error)}`);
        }
        result.digests.set(record.firstSeq, xxh64(record.bytes));
        result.lastSeq = record.lastSeq;
        result.maxEpoch = record.epoch > result.maxEpoch ? record.epoch : result.maxEpoch;
        result.records++;
      }
      return result;
    } catch (error) {
      // Retention removed the start: scan from the first retained record.
      if (error instanceof TruncatedError && result.records === 0 && from !== error.firstAvailableSeq) {
        from = error.firstAvailableSeq;
        continue;
      }
      result.problems.push(`unreadable after seq ${result.lastSeq}: ${describeError(error)}`);
      return result;
    }
  }
}
