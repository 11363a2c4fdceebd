/**
 * The report's call → applied pieces (the latency scenario's `applied` figures): a
 * table beside call → durable for the same ops, and a chart per store of the
 * percentiles against offered load, one line style per store the standby followed.
 * Rows from results files before it was measured have no `applied` and show nothing.
 */
import type { LatencyRow } from '../results.js';
import { fmt, table } from './markdown.js';
import type { Series } from './svg.js';
import type { NamedChart } from './charts.js';

const STYLES = ['solid', 'dashed', 'dotted'] as const;

export function appliedSection(rows: readonly LatencyRow[]): string | undefined {
  const measured = rows.filter((r) => (r.applied ?? []).length > 0);
  if (measured.length === 0) return undefined;
  return [
    '#### Call → applied on a standby (same ops, from the same intended start)',
    '',
    'An in-process standby follows each store of the setup through its own handle (gaps from the other store) and',
    'applies into a KV state machine; latency runs from each op’s intended start to its apply. Not applied: acknowledged',
    'ops the standby had not applied when the step’s drain ended (counted at the latency they had reached).',
    '',
    table(
      [
        'store',
        'writer',
        'offered/s',
        'standby follows',
        'applied p50 ms',
        'applied p99 ms',
        'applied p99.9 ms',
        'applied max ms',
        'durable p99 ms',
        'ops measured',
        'not applied',
      ],
      measured.flatMap((r) =>
        r.applied!.map((a) => [
          r.store,
          r.variant === 'ours' ? 'ours' : 'no group commit',
          fmt(r.offeredPerS),
          a.source,
          fmt(a.p50Ms, 2),
          fmt(a.p99Ms, 2),
          fmt(a.p999Ms, 2),
          fmt(a.maxMs, 2),
          fmt(r.p99Ms, 2),
          fmt(a.measuredOps),
          a.notAppliedOps > 0 ? `**${fmt(a.notAppliedOps)}**` : fmt(a.notAppliedOps),
        ]),
      ),
    ),
  ].join('\n');
}

/** One chart per store whose `ours` rows carry applied figures: `<runId>-applied-<store>.svg`. */
export function appliedCharts(runId: string, rows: readonly LatencyRow[]): NamedChart[] {
  const charts: NamedChart[] = [];
  const ours = rows.filter((r) => r.variant === 'ours' && (r.applied ?? []).length > 0);
  for (const store of [...new Set(ours.map((r) => r.store))]) {
    const byStore = ours.filter((r) => r.store === store);
    const sources = [...new Set(byStore.flatMap((r) => r.applied!.map((a) => a.source)))];
    const series: Series[] = [];
    sources.forEach((source, k) => {
      const points = (pick: (a: NonNullable<LatencyRow['applied']>[number]) => number) =>
        byStore.flatMap((r) =>
          r.applied!.filter((a) => a.source === source).map((a) => ({ x: r.offeredPerS, y: pick(a) })),
        );
      const style = STYLES[k % STYLES.length]!;
      series.push(
        { name: `applied p50, follows ${source}`, colorIndex: 0, style, points: points((a) => a.p50Ms) },
        { name: `applied p99, follows ${source}`, colorIndex: 1, style, points: points((a) => a.p99Ms) },
        { name: `applied p99.9, follows ${source}`, colorIndex: 2, style, points: points((a) => a.p999Ms) },
      );
    });
    series.push({
      name: 'durable p99 (reference)',
      colorIndex: 3,
      style: 'dotted',
      points: byStore.map((r) => ({ x: r.offeredPerS, y: r.p99Ms })),
    });
    charts.push({
      file: `${runId}-applied-${store.replace(/\+/g, '-')}.svg`,
      title: `Call → applied latency vs offered load, ${store} store`,
      chart: {
        title: `Call → applied on a standby vs offered load · ${store} · ${runId}`,
        xLabel: 'offered entries/s (log scale)',
        yLabel: 'ms from intended start (log scale)',
        xScale: 'log',
        yScale: 'log',
        series,
      },
    });
  }
  return charts;
}
