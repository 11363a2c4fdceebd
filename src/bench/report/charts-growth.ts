/**
 * The charts of the replay and growth rows: replay time against log length with one
 * colour per store (`<runId>-replay.svg`), snapshot and restore time against state size
 * (`<runId>-snapshot.svg`), and memory against pending-buffer fill
 * (`<runId>-pending-memory.svg`). charts.ts lists them with the others.
 */
import type { BenchResults } from '../results.js';
import type { NamedChart } from './charts.js';
import type { Series } from './svg.js';

/** Replay time vs log length; per store: replay (solid), decode only (dashed), the file store's open (dotted). */
export function replayChart(results: BenchResults): NamedChart | undefined {
  if (results.replay.length === 0) return undefined;
  const stores = [...new Set(results.replay.map((r) => r.store))];
  const series: Series[] = stores.flatMap((store, colorIndex): Series[] => {
    const rows = results.replay.filter((r) => r.store === store);
    return [
      {
        name: `replay, ${store}`,
        colorIndex,
        points: rows.map((r) => ({ x: r.entries, y: r.replaySeconds })),
      },
      {
        name: `decode only, ${store} (baseline)`,
        colorIndex,
        style: 'dashed',
        points: rows.map((r) => ({ x: r.entries, y: r.entries / r.decodeOnlyEntriesPerS })),
      },
      ...(store === 'file'
        ? [
            {
              name: 'open as a reader, file',
              colorIndex,
              style: 'dotted' as const,
              points: rows.map((r) => ({ x: r.entries, y: r.openSeconds })),
            },
          ]
        : []),
    ];
  });
  return {
    file: `${results.runId}-replay.svg`,
    title: `Replay time vs log length, per store (${stores.join(', ')})`,
    chart: {
      title: `Replay into a fresh node vs log length · ${stores.join(', ')} · ${results.runId}`,
      xLabel: 'entries in the log (log scale)',
      yLabel: 'seconds (log scale)',
      xScale: 'log',
      yScale: 'log',
      series,
    },
  };
}

/** Snapshot take and restore time vs state size, with their parts and the raw file baselines. */
export function snapshotChart(results: BenchResults): NamedChart | undefined {
  const rows = results.snapshots ?? [];
  if (rows.length === 0) return undefined;
  const line = (
    name: string,
    colorIndex: number,
    style: NonNullable<Series['style']>,
    pick: (r: (typeof rows)[number]) => number,
  ): Series => ({
    name,
    colorIndex,
    style,
    points: rows.map((r) => ({ x: r.keys, y: pick(r) })),
  });
  return {
    file: `${results.runId}-snapshot.svg`,
    title: 'Snapshot and restore time vs state size',
    chart: {
      title: `Snapshot and restore vs state size (512 B values) · ${results.runId}`,
      xLabel: 'keys in the state (log scale)',
      yLabel: 'seconds (log scale)',
      xScale: 'log',
      yScale: 'log',
      series: [
        line('take (pause + save)', 0, 'solid', (r) => r.takeSeconds),
        line('of which pause (nothing applied)', 0, 'dotted', (r) => r.pauseSeconds),
        line('restore (load + decode + hash check)', 1, 'solid', (r) => r.restoreSeconds),
        line('of which load', 1, 'dotted', (r) => r.loadSeconds),
        line('raw write + fsync of the body (baseline)', 2, 'dashed', (r) => r.rawWriteSeconds),
        line('raw read of the body (baseline)', 3, 'dashed', (r) => r.rawReadSeconds),
      ],
    },
  };
}

/** Memory held vs pending entries, beside the applier's estimate and the value bytes alone. */
export function pendingMemoryChart(results: BenchResults): NamedChart | undefined {
  const rows = results.pendingMemory ?? [];
  if (rows.length === 0) return undefined;
  const line = (
    name: string,
    colorIndex: number,
    style: NonNullable<Series['style']>,
    pick: (r: (typeof rows)[number]) => number,
  ): Series => ({
    name,
    colorIndex,
    style,
    points: rows.map((r) => ({ x: r.pendingEntries, y: pick(r) / 1e6 })),
  });
  return {
    file: `${results.runId}-pending-memory.svg`,
    title: 'Memory vs pending-buffer fill',
    chart: {
      title: `Standby pending buffer: memory vs entries held (512 B values) · ${results.runId}`,
      xLabel: 'pending entries',
      yLabel: 'MB over the empty buffer',
      series: [
        line('held (heap + array buffers)', 0, 'solid', (r) => r.totalBytes),
        line('of which V8 heap', 0, 'dotted', (r) => r.heapUsedBytes),
        line('applier estimate (pendingBytesMax counts this)', 1, 'dashed', (r) => r.pendingBytesEstimate),
        line('value bytes alone (baseline)', 2, 'dashed', (r) => r.valueBytesTotal),
      ],
    },
  };
}
