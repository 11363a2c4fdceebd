/**
 * `oplog verify`: reads every given store end to end and checks what the invariants
 * promise: every record passes its checksums (header, body, each entry), seqs are
 * contiguous, epochs never go down along seq, and the stores hold byte-identical
 * records wherever they overlap. A store that is only *behind* another (a write that
 * reached some stores before a crash) is reported, not failed: the next writer start
 * copies what it misses.
 *
 *   oplog verify [--data-dir DIR] [--etcd HOST:PORT] [--kafka HOST:PORT] [--cluster-id ID]
 *
 * Exit codes: 0 every store sound and identical where they overlap; 1 damage, a gap, an
 * epoch going down, or different bytes at one seq (each line names the store and seq);
 * 2 bad arguments.
 */
import { xxh64 } from '@node-rs/xxhash';
import { parseArgs } from 'node:util';
import { loadZstd } from '../compression/zstd.js';
import type { Compression } from '../core/compression.js';
import { InvalidClusterIdError, InvalidInputError, OplogError, TruncatedError } from '../core/errors.js';
import { decodeRecord } from '../core/record-codec.js';
import { seq as toSeq } from '../core/types.js';
import type { LogStore } from '../stores/log-store.js';
import { givenStores, openStore, STORE_OPTIONS } from './stores.js';

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
}

export async function verifyCommand(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { ...STORE_OPTIONS } });
  const kinds = givenStores(values);
  if (kinds.length === 0)
    throw new InvalidInputError('stores', 'give at least one of --data-dir, --etcd, --kafka');
  const compression = await loadZstd();
  const scans: StoreScan[] = [];
  for (const kind of kinds) {
    let store: LogStore;
    try {
      store = await openStore(kind, values);
    } catch (error) {
      // Bad arguments stay errors; a store that cannot be opened (damage found on
      // open, say) is a finding like any other.
      if (error instanceof InvalidInputError || error instanceof InvalidClusterIdError) throw error;
      scans.push({ ...emptyScan(kind), problems: [`cannot open: ${describe(error)}`] });
      continue;
    }
    try {
      scans.push(await scan(store, compression));
    } finally {
      await store.close();
    }
  }
  let sound = true;
  for (const s of scans) {
    if (s.records > 0 || s.problems.length === 0)
      out(
        s.records === 0
          ? `${s.kind}: empty`
          : `${s.kind}: seq ${s.firstSeq}..${s.lastSeq} · ${s.records} records · ${s.entries} entries · epoch ≤ ${s.maxEpoch}`,
      );
    for (const problem of s.problems) out(`${s.kind}: ${problem}`);
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
      out(
        `${reference!.kind} and ${other.kind} DIFFER at record seq ${differing.map(([first]) => first).join(', ')}`,
      );
    } else out(`${reference!.kind} and ${other.kind}: ${shared} shared records byte-identical`);
    const bothRead = reference!.problems.length === 0 && other.problems.length === 0;
    if (bothRead && other.lastSeq !== reference!.lastSeq)
      out(
        `${reference!.kind} head ${reference!.lastSeq}, ${other.kind} head ${other.lastSeq}: the shorter one is behind (the next writer start copies what it misses)`,
      );
  }
  out(sound ? 'OK' : 'FAILED');
  return sound ? 0 : 1;
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
          result.entries += decodeRecord(record.bytes, compression).entries.length;
        } catch (error) {
          result.problems.push(`record at seq ${record.firstSeq}: ${describe(error)}`);
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
      result.problems.push(`unreadable after seq ${result.lastSeq}: ${describe(error)}`);
      return result;
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof OplogError) return `${error.code} ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
