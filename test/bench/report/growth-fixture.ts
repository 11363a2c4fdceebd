/**
 * A results file with replay rows from etcd and Kafka and the growth rows, on top of
 * resultsFixture (figures made up, shapes real), for the report tests.
 */
import type { BenchResults, ReplayRow } from '../../../src/bench/results.js';
import type { PendingMemoryRow, SnapshotRow } from '../../../src/bench/results-growth.js';
import { resultsFixture } from './results-fixture.js';

const networkedReplay: ReplayRow[] = [
  {
    store: 'etcd',
    entries: 10_000,
    valueBytes: 512,
    logBytes: 959_918,
    openSeconds: 0.004,
    replaySeconds: 0.0625,
    stateHashSeconds: 0.0125,
    replayEntriesPerS: 160_000,
    decodeOnlyEntriesPerS: 250_000,
    replayOverDecodeOnly: 0.64,
    replayOverFile: 0.8,
    etcdDbBytesAdded: 1_048_576,
  },
  {
    store: 'kafka',
    entries: 10_000,
    valueBytes: 512,
    logBytes: 956_591,
    openSeconds: 0.25,
    replaySeconds: 0.125,
    stateHashSeconds: 0.0125,
    replayEntriesPerS: 80_000,
    decodeOnlyEntriesPerS: 100_000,
    replayOverDecodeOnly: 0.8,
    replayOverFile: 0.4,
  },
];

const snapshot = (keys: number, takeSeconds: number, restoreSeconds: number): SnapshotRow => ({
  keys,
  valueBytes: 512,
  imageBytes: keys * 530,
  bodyBytes: keys * 320,
  takeSeconds,
  pauseSeconds: takeSeconds / 2,
  saveSeconds: takeSeconds / 2,
  restoreSeconds,
  loadSeconds: restoreSeconds / 4,
  restoreHashSeconds: restoreSeconds / 2,
  rawWriteSeconds: 0.002,
  rawReadSeconds: 0.001,
  takeKeysPerS: keys / takeSeconds,
  restoreKeysPerS: keys / restoreSeconds,
  takeOverRawWrite: 0.002 / takeSeconds,
  restoreOverRawRead: 0.001 / restoreSeconds,
});

const pending = (fillFraction: number, pendingEntries: number): PendingMemoryRow => ({
  pendingEntriesMax: 100_000,
  fillFraction,
  pendingEntries,
  valueBytes: 512,
  pendingBytesEstimate: pendingEntries * 600,
  heapUsedBytes: pendingEntries * 350,
  arrayBuffersBytes: pendingEntries * 575,
  totalBytes: pendingEntries * 925,
  valueBytesTotal: pendingEntries * 512,
  ...(pendingEntries === 0 ? {} : { bytesPerEntry: 925 }),
  totalOverValueBytes: pendingEntries === 0 ? 0 : 925 / 512,
  totalOverEstimate: pendingEntries === 0 ? 0 : 925 / 600,
});

export function growthFixture(runId = '2026-12-03-testbox'): BenchResults {
  const base = resultsFixture(runId, '2026-12-03T10:00:00.000Z');
  return {
    ...base,
    options: {
      ...base.options,
      scenarios: ['replay', 'growth'],
      stores: ['etcd', 'kafka'],
      snapshotKeys: [10_000, 100_000],
    },
    throughput: [],
    latency: [],
    http: [],
    replay: [...base.replay, ...networkedReplay],
    snapshots: [snapshot(10_000, 0.125, 0.0625), snapshot(100_000, 1.25, 0.5)],
    pendingMemory: [pending(0, 0), pending(0.25, 25_000), pending(0.5, 50_000), pending(1, 100_000)],
    notes: [],
  };
}
