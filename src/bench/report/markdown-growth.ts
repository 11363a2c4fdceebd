/**
 * The generated report's sections for replay from etcd and Kafka and for the growth
 * scenario (snapshot and restore against state size, memory against pending-buffer
 * fill). Like markdown.ts: results in, markdown out, every number a field of the
 * results file, formatted, never computed here.
 */
import type { BenchResults, ReplayRow } from '../results.js';
import type { PendingMemoryRow, SnapshotRow } from '../results-growth.js';
import { fmt, fmtOrDash, table } from './table.js';

/** Replay rows of the networked stores (store ≠ file). */
export function networkedReplaySection(rows: readonly ReplayRow[]): string {
  return [
    '#### Replay into a fresh node from etcd and Kafka (512-byte values)',
    '',
    'The same workload as the file store’s log of the same length, written by our writer to the store, then read',
    'through a fresh client. Baseline on the same log: read + verify + decode with nothing applied; and the file',
    'store’s replay of the same length in this run. Log bytes are the records’ bytes as read.',
    '',
    table(
      [
        'store',
        'entries',
        'log bytes',
        'open s',
        'replay s',
        'of which state hash s',
        'replay entries/s',
        'decode only entries/s',
        'replay / decode only',
        'replay / file store',
        'etcd backend growth bytes',
      ],
      rows.map((r) => [
        r.store,
        fmt(r.entries),
        fmt(r.logBytes),
        fmt(r.openSeconds, 2),
        fmt(r.replaySeconds, 2),
        fmt(r.stateHashSeconds, 2),
        fmt(r.replayEntriesPerS),
        fmt(r.decodeOnlyEntriesPerS),
        fmt(r.replayOverDecodeOnly, 2),
        fmtOrDash(r.replayOverFile, 2),
        fmtOrDash(r.etcdDbBytesAdded),
      ]),
    ),
  ].join('\n');
}

/** The growth tables a run has (none for files older than the growth scenario). */
export function growthSections(run: BenchResults): string[] {
  const sections: string[] = [];
  if ((run.snapshots ?? []).length > 0) sections.push(snapshotSection(run.snapshots!));
  if ((run.pendingMemory ?? []).length > 0) sections.push(pendingSection(run.pendingMemory!));
  return sections;
}

function snapshotSection(rows: readonly SnapshotRow[]): string {
  return [
    '#### Snapshot and restore against state size (KV state machine, 512-byte values)',
    '',
    'Take: image + state hash while nothing is applied (the pause), then compress and write atomically. Restore into a',
    'fresh node: read + check + decompress (load), decode, and check the state hash. Baselines: the stored body',
    'written to a plain file + fsync, and read back.',
    '',
    table(
      [
        'keys',
        'image bytes',
        'body bytes',
        'take s',
        'of which pause s',
        'take keys/s',
        'raw write + fsync s',
        'take / raw write',
        'restore s',
        'of which load s',
        'of which hash check s',
        'restore keys/s',
        'raw read s',
        'restore / raw read',
      ],
      rows.map((r) => [
        fmt(r.keys),
        fmt(r.imageBytes),
        fmt(r.bodyBytes),
        fmt(r.takeSeconds, 2),
        fmt(r.pauseSeconds, 2),
        fmt(r.takeKeysPerS),
        fmt(r.rawWriteSeconds, 3),
        fmt(r.takeOverRawWrite, 3),
        fmt(r.restoreSeconds, 2),
        fmt(r.loadSeconds, 2),
        fmt(r.restoreHashSeconds, 2),
        fmt(r.restoreKeysPerS),
        fmt(r.rawReadSeconds, 3),
        fmt(r.restoreOverRawRead, 3),
      ]),
    ),
  ].join('\n');
}

function pendingSection(rows: readonly PendingMemoryRow[]): string {
  return [
    '#### Memory against pending-buffer fill (a standby core behind a gap at seq 1, default limits)',
    '',
    'Growth over the empty buffer after a full GC. Baselines: the applier’s own footprint estimate (what',
    '`pendingBytesMax` bounds) and the entries’ value bytes alone.',
    '',
    table(
      [
        'pendingEntriesMax',
        'fill',
        'pending entries',
        'heap used bytes',
        'array buffers bytes',
        'total bytes',
        'bytes/entry',
        'applier estimate bytes',
        'total / estimate',
        'value bytes',
        'total / value bytes',
      ],
      rows.map((r) => [
        fmt(r.pendingEntriesMax),
        fmt(r.fillFraction, 2),
        fmt(r.pendingEntries),
        fmt(r.heapUsedBytes),
        fmt(r.arrayBuffersBytes),
        fmt(r.totalBytes),
        fmtOrDash(r.bytesPerEntry),
        fmt(r.pendingBytesEstimate),
        fmt(r.totalOverEstimate, 2),
        fmt(r.valueBytesTotal),
        fmt(r.totalOverValueBytes, 2),
      ]),
    ),
  ].join('\n');
}
