/**
 * Memory against pending-buffer fill: a StandbyCore with the standby's default limits
 * (DEFAULT_APPLIER_CONFIG: pendingEntriesMax 100,000, pendingBytesMax 256 MiB) that has
 * applied nothing receives seqs 2, 3, … — seq 1 never comes, so every entry waits in the
 * pending buffer behind the gap — as decoded records of 1,024 entries (real codec,
 * zstd; values are views into each record's body, which the applier copies). Time is
 * never advanced, so nothing is skipped. After each fill (0, 25, 50, 100 % of
 * pendingEntriesMax) the heap is measured after a full GC, as growth over the empty
 * buffer, beside the applier's own footprint estimate (the figure pendingBytesMax
 * bounds) and the value bytes alone.
 */
import type { Compression } from '../../core/compression.js';
import type { EntryFields } from '../../core/entry-codec.js';
import { decodeRecord, encodeRecord } from '../../core/record-codec.js';
import { StandbyCore } from '../../core/standby-core.js';
import { epoch, seq } from '../../core/types.js';
import { DEFAULT_APPLIER_CONFIG } from '../../standby/standby-options.js';
import { heapFigures, type HeapFigures } from '../heap.js';
import { FIXED_VALUE_BYTES } from '../plan.js';
import { ratio } from '../results.js';
import type { PendingMemoryRow } from '../results-growth.js';
import { Workload } from '../workload.js';

/** The fills measured, as fractions of pendingEntriesMax. */
export const PENDING_FILL_FRACTIONS = [0, 0.25, 0.5, 1] as const;
/** Entries per delivered record (the writer's default batchEntriesMax). */
const RECORD_ENTRIES = 1_024;

export function pendingMemoryRows(compression: Compression): PendingMemoryRow[] {
  const config = DEFAULT_APPLIER_CONFIG;
  const max = config.pendingEntriesMax;
  const workload = new Workload(FIXED_VALUE_BYTES);
  const core = new StandbyCore(config, { appliedSeq: seq(0n), appliedEpoch: epoch(1n) });
  const empty = heapFigures();
  const rows: PendingMemoryRow[] = [];
  let delivered = 0;
  for (const fillFraction of PENDING_FILL_FRACTIONS) {
    const target = Math.round(max * fillFraction);
    while (delivered < target) {
      const count = Math.min(RECORD_ENTRIES, target - delivered);
      core.receive({ kind: 'record', entries: record(workload, delivered, count, compression) }, 0);
      delivered += count;
    }
    if (core.pendingEntries !== target || core.appliedSeq !== 0n)
      throw new Error(
        `pending memory bench: ${core.pendingEntries} pending and seq ${core.appliedSeq} applied, expected ${target} and 0`,
      );
    rows.push(row(core, empty, heapFigures(), { max, fillFraction }));
  }
  return rows;
}

/** The decoded entries of one record holding seqs 2 + offset … (seq 1 is the gap). */
function record(workload: Workload, offset: number, count: number, compression: Compression) {
  const entries: EntryFields[] = workload.ops(offset, count).map((op, index) => ({
    ...op,
    seq: seq(BigInt(offset + index + 2)),
    epoch: epoch(1n),
    ts: 0,
  }));
  const { record: encoded } = encodeRecord({ epoch: epoch(1n), entries, compression });
  return decodeRecord(encoded.bytes, compression).entries;
}

function row(
  core: StandbyCore,
  empty: HeapFigures,
  now: HeapFigures,
  { max, fillFraction }: { max: number; fillFraction: number },
): PendingMemoryRow {
  const pendingEntries = core.pendingEntries;
  const heapUsedBytes = now.heapUsedBytes - empty.heapUsedBytes;
  const arrayBuffersBytes = now.arrayBuffersBytes - empty.arrayBuffersBytes;
  const totalBytes = heapUsedBytes + arrayBuffersBytes;
  const valueBytesTotal = pendingEntries * FIXED_VALUE_BYTES;
  return {
    pendingEntriesMax: max,
    fillFraction,
    pendingEntries,
    valueBytes: FIXED_VALUE_BYTES,
    pendingBytesEstimate: core.pendingBytes,
    heapUsedBytes,
    arrayBuffersBytes,
    totalBytes,
    valueBytesTotal,
    ...(pendingEntries === 0 ? {} : { bytesPerEntry: totalBytes / pendingEntries }),
    totalOverValueBytes: ratio(totalBytes, valueBytesTotal),
    totalOverEstimate: ratio(totalBytes, core.pendingBytes),
  };
}
