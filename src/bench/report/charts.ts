/**
 * The charts of one results file: throughput vs clients per store, latency percentiles
 * (to durable, and to applied on a standby: applied-section.ts) vs offered load per
 * store, replay time vs log length (every store on one chart), and the growth charts
 * (charts-growth.ts). Each chart is named `<runId>-<kind>[-<store>].svg`; the markdown
 * links them by these names.
 */
import type { BenchResults } from '../results.js';
import { appliedCharts } from './applied-section.js';
import { pendingMemoryChart, replayChart, snapshotChart } from './charts-growth.js';
import { renderLineChart, type LineChart, type Series } from './svg.js';

export interface NamedChart {
  /** File name, e.g. `2026-12-02-host-throughput-file.svg`. */
  readonly file: string;
  /** What it shows, for the markdown's alt text. */
  readonly title: string;
  readonly chart: LineChart;
}

function storesOf(rows: readonly { store: string }[]): string[] {
  return [...new Set(rows.map((r) => r.store))];
}

export function chartsFor(results: BenchResults): NamedChart[] {
  const charts: NamedChart[] = [];
  const machine = results.runId;
  for (const store of storesOf(results.throughput)) {
    const rows = results.throughput.filter((r) => r.store === store);
    const sizes = [...new Set(rows.map((r) => r.valueBytes))];
    const series: Series[] = [];
    sizes.forEach((size, colorIndex) => {
      const bySize = rows.filter((r) => r.valueBytes === size);
      series.push({
        name: `ours, ${size} B`,
        colorIndex,
        points: bySize.map((r) => ({ x: r.clients, y: r.ours.entriesPerS })),
      });
      series.push({
        name: `no group commit, ${size} B`,
        colorIndex,
        style: 'dashed',
        points: bySize.map((r) => ({ x: r.clients, y: r.noGroupCommit.entriesPerS })),
      });
      const raw = bySize.filter((r) => r.rawFdatasync !== undefined);
      if (raw.length > 0)
        series.push({
          name: `raw write + fdatasync, ${size} B`,
          colorIndex,
          style: 'dotted',
          points: raw.map((r) => ({ x: r.clients, y: r.rawFdatasync!.entriesPerS })),
        });
    });
    charts.push({
      file: `${results.runId}-throughput-${slug(store)}.svg`,
      title: `Throughput vs concurrent callers, ${store} store`,
      chart: {
        title: `Throughput vs callers · ${store} · ${machine}`,
        xLabel: 'concurrent callers (log scale)',
        yLabel: 'entries/s (log scale)',
        xScale: 'log',
        yScale: 'log',
        series,
      },
    });
  }
  for (const store of storesOf(results.latency)) {
    const rows = results.latency.filter((r) => r.store === store);
    const series: Series[] = [];
    for (const variant of ['ours', 'no-group-commit'] as const) {
      const byVariant = rows.filter((r) => r.variant === variant);
      if (byVariant.length === 0) continue;
      const name = variant === 'ours' ? 'ours' : 'no group commit';
      for (const [colorIndex, label, pick] of [
        [0, 'p50', (r: (typeof rows)[number]) => r.p50Ms],
        [1, 'p99', (r: (typeof rows)[number]) => r.p99Ms],
        [2, 'p99.9', (r: (typeof rows)[number]) => r.p999Ms],
      ] as const)
        series.push({
          name: `${name} ${label}`,
          colorIndex,
          style: variant === 'ours' ? 'solid' : 'dashed',
          points: byVariant.map((r) => ({ x: r.offeredPerS, y: pick(r) })),
        });
    }
    charts.push({
      file: `${results.runId}-latency-${slug(store)}.svg`,
      title: `Latency percentiles vs offered load, ${store} store`,
      chart: {
        title: `Call → durable latency vs offered load · ${store} · ${machine}`,
        xLabel: 'offered entries/s (log scale)',
        yLabel: 'ms from intended start (log scale)',
        xScale: 'log',
        yScale: 'log',
        series,
      },
    });
  }
  charts.push(...appliedCharts(results.runId, results.latency));
  for (const chart of [replayChart(results), snapshotChart(results), pendingMemoryChart(results)])
    if (chart !== undefined) charts.push(chart);
  return charts;
}

export function renderCharts(results: BenchResults): { file: string; title: string; svg: string }[] {
  return chartsFor(results).map(({ file, title, chart }) => ({ file, title, svg: renderLineChart(chart) }));
}

function slug(store: string): string {
  return store.replace(/\+/g, '-');
}
