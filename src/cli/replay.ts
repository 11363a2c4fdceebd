/**
 * `oplog replay`: rebuild a node's state from the newest usable snapshot plus the log,
 * up to the head, a seq (`--to-seq`) or a time (`--to-time`, point-in-time restore),
 * and print the state hash (equal to the primary's at the same seq). Reads only: the
 * file store is opened as a reader, so a running writer is not disturbed.
 *
 *   oplog replay --data-dir DIR [--cluster-id ID] [--to-seq N | --to-time ISO]
 *   oplog replay --store etcd --etcd HOST:PORT --snapshot-dir DIR [--cluster-id ID]
 *   oplog replay --store kafka --kafka HOST:PORT --no-snapshot [--cluster-id ID]
 *
 * Exit codes: 0 rebuilt; 2 bad arguments; 1 the log or a snapshot is damaged or
 * unreachable (the message names the seq or file).
 */
import { parseArgs } from 'node:util';
import { loadZstd } from '../compression/zstd.js';
import { InvalidInputError } from '../core/errors.js';
import { replay } from '../snapshot/replay.js';
import { FileSnapshotStore, hex } from '../snapshot/snapshot-store.js';
import { KvStateMachine } from '../snapshot/state-machine.js';
import { openStore, STORE_OPTIONS } from './stores.js';

export async function replayCommand(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...STORE_OPTIONS,
      store: { type: 'string', default: 'file' },
      'snapshot-dir': { type: 'string' },
      'no-snapshot': { type: 'boolean', default: false },
      'to-seq': { type: 'string' },
      'to-time': { type: 'string' },
    },
  });
  const clusterId = values['cluster-id'];
  const toSeq = values['to-seq'] === undefined ? undefined : parseSeq(values['to-seq']);
  const toTimeMs = values['to-time'] === undefined ? undefined : parseTime(values['to-time']);
  if (toSeq !== undefined && toTimeMs !== undefined)
    throw new InvalidInputError('--to-seq/--to-time', 'give one bound, not both');
  const snapshotDir = values['snapshot-dir'] ?? values['data-dir'];
  if (!values['no-snapshot'] && snapshotDir === undefined)
    throw new InvalidInputError('--snapshot-dir', 'required with this store (or pass --no-snapshot)');
  const compression = await loadZstd();
  const snapshots =
    values['no-snapshot'] || snapshotDir === undefined
      ? undefined
      : new FileSnapshotStore({ dataDir: snapshotDir, clusterId }, compression);

  const store = await openStore(values.store, values);
  try {
    const stateMachine = new KvStateMachine();
    const result = await replay({
      store,
      stateMachine,
      compression,
      ...(snapshots === undefined ? {} : { snapshots }),
      ...(toSeq === undefined ? {} : { toSeq }),
      ...(toTimeMs === undefined ? {} : { toTimeMs }),
    });
    const snapshot = result.snapshot;
    out(
      snapshot === undefined
        ? 'no snapshot used: replayed from seq 1'
        : `restored snapshot at seq ${snapshot.lastSeq} (epoch ${snapshot.epoch}, ${snapshot.items} keys, taken ${snapshot.createdAt})`,
    );
    const first = (snapshot?.lastSeq ?? 0n) + 1n;
    out(
      result.replayedEntries === 0
        ? `replayed nothing from the ${store.kind} log (head seq ${result.headSeq})`
        : `replayed seq ${first}..${result.appliedSeq} (${result.replayedEntries} entries) from the ${store.kind} log; head seq ${result.headSeq}`,
    );
    out(`stopped at: ${result.stoppedAt}`);
    out(`applied seq ${result.appliedSeq} · epoch ${result.appliedEpoch} · ${stateMachine.size} keys`);
    out(`state hash ${hex(result.hash)}`);
    return 0;
  } finally {
    await store.close();
  }
}

function parseSeq(text: string): bigint {
  if (!/^\d{1,20}$/.test(text) || BigInt(text) >= 2n ** 64n)
    throw new InvalidInputError('--to-seq', `not a seq: ${JSON.stringify(text)}`);
  return BigInt(text);
}

/** An ISO 8601 time, or milliseconds since the Unix epoch. */
function parseTime(text: string): number {
  const ms = /^\d{1,16}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new InvalidInputError('--to-time', `not a time: ${JSON.stringify(text)}`);
  return ms;
}
