/**
 * The report's newer pieces (src/bench/report/applied-section.ts, failover-section.ts):
 * call → applied rows beside call → durable, one per store the standby followed, with
 * a chart per store; the failover tables with the parts, the clients' outcomes and the
 * final-log check, a broken failover named in bold. Results files written before
 * either was measured (the committed bench/results/*.json) still regenerate, with
 * neither section nor the applied chart.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderCharts } from '../../../src/bench/report/charts.js';
import { renderRun } from '../../../src/bench/report/markdown.js';
import { readResults, regenerate } from '../../../src/bench/report/regenerate.js';
import type { AppliedLatency, BenchResults, FailoverRow } from '../../../src/bench/results.js';
import { checkWellFormed } from '../../helpers/xml.js';
import { resultsFixture } from './results-fixture.js';

/** The cells of the markdown table that follows `heading`. */
function tableAfter(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const lines = markdown.slice(start).split('\n');
  const rows: string[][] = [];
  for (const line of lines.slice(lines.findIndex((l) => l.startsWith('|')))) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(2, -2).split(' | '));
  }
  return rows;
}

const applied = (source: string, p99Ms: number, notAppliedOps = 0): AppliedLatency => ({
  source,
  measuredOps: 800,
  p50Ms: p99Ms / 4,
  p99Ms,
  p999Ms: p99Ms * 1.5,
  maxMs: p99Ms * 2,
  notAppliedOps,
  untimedOps: 0,
});

const manual: FailoverRow = {
  store: 'etcd+kafka',
  mode: 'manual',
  clientLoops: 4,
  runs: [
    {
      totalMs: 512.25,
      detectionMs: 30,
      promotionMs: 420,
      firstAckMs: 60,
      ackedBeforeKill: 120,
      fromEpoch: '1',
      toEpoch: '2',
    },
    { totalMs: 700.5, promotionMs: 610, ackedBeforeKill: 130, fromEpoch: '2', toEpoch: '3' },
  ],
  p50Ms: 700.5,
  maxMs: 700.5,
  detectionP50Ms: 30,
  promotionP50Ms: 610,
  firstAckP50Ms: 60,
  ackedOps: 500,
  failedOps: 40,
  unknownOps: 8,
  checks: [
    {
      store: 'etcd',
      entries: 506,
      lost: 0,
      misplaced: 0,
      duplicated: 0,
      failedPresent: 0,
      unexpected: 0,
      seqErrors: 0,
      unknownPresent: 6,
    },
    {
      store: 'kafka',
      entries: 506,
      lost: 0,
      misplaced: 0,
      duplicated: 0,
      failedPresent: 0,
      unexpected: 0,
      seqErrors: 0,
      unknownPresent: 6,
    },
  ],
  anomalies: 0,
};

const automatic: FailoverRow = {
  ...manual,
  mode: 'automatic',
  leaseTtlS: 2,
  runs: [
    {
      totalMs: 2_250,
      detectionMs: 2_010,
      promotionMs: 200,
      firstAckMs: 40,
      ackedBeforeKill: 100,
      fromEpoch: '1',
      toEpoch: '2',
    },
  ],
  p50Ms: 2_250,
  maxMs: 2_250,
  checks: [
    { ...manual.checks[0]!, lost: 2 },
    { ...manual.checks[1]!, duplicated: 1 },
  ],
  anomalies: 3,
};

function withNewFigures(): BenchResults {
  const base = resultsFixture();
  return {
    ...base,
    latency: base.latency.map((row, i) =>
      i === 0
        ? { ...row, store: 'etcd+kafka', applied: [applied('etcd', 4.5), applied('kafka', 60.25, 3)] }
        : row,
    ),
    failover: [manual, automatic],
  };
}

describe('call → applied in the report', () => {
  const run = withNewFigures();
  const markdown = renderRun(run, 'results');

  it('one row per store followed, beside the same row’s durable p99; ops not applied in bold', () => {
    const rows = tableAfter(markdown, '#### Call → applied');
    expect(rows[0]).toEqual([
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
    ]);
    expect(rows.slice(2)).toEqual([
      ['etcd+kafka', 'ours', '1,000', 'etcd', '1.13', '4.50', '6.75', '9.00', '2.50', '800', '0'],
      ['etcd+kafka', 'ours', '1,000', 'kafka', '15.06', '60.25', '90.38', '120.50', '2.50', '800', '**3**'],
    ]);
  });

  it('a chart per store with applied rows: a series per percentile and source, and durable for reference', () => {
    const charts = renderCharts(run);
    const chart = charts.find((c) => c.file === '2026-12-02-testbox-applied-etcd-kafka.svg');
    expect(chart).toBeDefined();
    checkWellFormed(chart!.svg);
    // 2 sources × 3 percentiles + durable p99.
    expect([...chart!.svg.matchAll(/<path class="series"/g)]).toHaveLength(7);
    expect(chart!.svg).toContain('applied p99, follows kafka');
    expect(markdown).toContain('](results/2026-12-02-testbox-applied-etcd-kafka.svg)');
    // The file store's rows carry no applied figures here: no chart for it.
    expect(charts.map((c) => c.file)).not.toContain('2026-12-02-testbox-applied-file.svg');
  });
});

describe('failover in the report', () => {
  const markdown = renderRun(withNewFigures(), 'results');

  it('per mode: p50, max, the parts, the outcomes and the check; a broken one in bold, by name', () => {
    const rows = tableAfter(markdown, '#### Failover');
    expect(rows[0]).toEqual([
      'store',
      'mode',
      'lease TTL s',
      'runs',
      'client loops',
      'p50 ms',
      'max ms',
      'detection p50 ms',
      'promotion p50 ms',
      'first ack p50 ms',
      'acked',
      'unknown outcome',
      'check',
    ]);
    expect(rows[2]).toEqual([
      'etcd+kafka',
      'manual',
      '—',
      '2',
      '4',
      '701',
      '701',
      '30',
      '610',
      '60',
      '500',
      '8',
      'none lost, doubled or misplaced (etcd 506 entries, kafka 506 entries)',
    ]);
    expect(rows[3]![12]).toBe('**BROKEN: etcd lost 2, kafka duplicated 1**');
    expect(rows[3]![2]).toBe('2');
  });

  it('every run, a part the node did not log shown as —', () => {
    const heading = '| store | mode | run |';
    const rows = tableAfter(markdown.slice(markdown.indexOf(heading)), heading);
    expect(rows.slice(2)).toEqual([
      ['etcd+kafka', 'manual', '#1', '512', '30', '420', '60', '1 → 2'],
      ['etcd+kafka', 'manual', '#2', '701', '—', '610', '—', '2 → 3'],
      ['etcd+kafka', 'automatic', '#1', '2,250', '2,010', '200', '40', '1 → 2'],
    ]);
  });
});

/** Results files committed before call → applied, failover and growth existed. */
const OLD_RUNS = ['2026-12-01-vm.json', '2026-12-01-vm-2.json'];

describe('results files from before', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oplog-report-old-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the committed bench/results/*.json regenerate, without applied or failover pieces', () => {
    const committed = join(import.meta.dirname, '../../../bench/results');
    // The runs committed before call → applied and failover were measured.
    const files = readdirSync(committed).filter((f) => OLD_RUNS.includes(f));
    expect(files).toHaveLength(OLD_RUNS.length);
    for (const file of files) copyFileSync(join(committed, file), join(dir, file));
    const old = readResults(dir);
    for (const run of old) {
      expect(run.failover).toBeUndefined();
      expect(run.latency.every((r) => r.applied === undefined)).toBe(true);
    }
    const report = regenerate({ resultsDir: dir, markdownPath: join(dir, 'RESULTS.md') });
    expect(report.runs).toBe(files.length);
    // The charts regenerated are ones committed beside them, and no applied chart.
    const regenerated = report.charts.map((c) => c.slice(dir.length + 1)).sort();
    expect(regenerated.filter((c) => c.includes('-applied-'))).toEqual([]);
    for (const chart of regenerated) expect(existsSync(join(committed, chart)), chart).toBe(true);
    // Byte-identical but for the replay chart, which now draws a series per store (the
    // committed ones were drawn with the file store's only): the same points, renamed.
    for (const chart of regenerated.filter((c) => !c.endsWith('-replay.svg')))
      expect(readFileSync(join(dir, chart), 'utf8'), chart).toBe(
        readFileSync(join(committed, chart), 'utf8'),
      );
    const markdown = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
    expect(markdown).not.toContain('#### Call → applied');
    expect(markdown).not.toContain('#### Failover');
  });
});
