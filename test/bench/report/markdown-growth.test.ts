/**
 * The report's replay-from-etcd-and-Kafka and growth parts (markdown-growth.ts,
 * charts-growth.ts): their tables print the results file's figures (formatted, not
 * recomputed), the file store's replay table keeps only file rows, the replay chart
 * draws every store, the snapshot and pending-memory charts exist exactly when their
 * rows do, and the results files committed before these rows existed still regenerate.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chartsFor, renderCharts } from '../../../src/bench/report/charts.js';
import { renderRun } from '../../../src/bench/report/markdown.js';
import { regenerate } from '../../../src/bench/report/regenerate.js';
import { checkWellFormed } from '../../helpers/xml.js';
import { growthFixture } from './growth-fixture.js';
import { resultsFixture } from './results-fixture.js';

/** The cells of the markdown table that follows the heading `heading`. */
function tableAfter(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const lines = markdown.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(2, -2).split(' | '));
  }
  return rows;
}

describe('renderRun: replay from etcd and Kafka, growth', () => {
  const markdown = renderRun(growthFixture(), 'results');

  it('the file store table keeps the file rows; the networked table has the others with their ratios', () => {
    expect(tableAfter(markdown, '#### Replay into a fresh node (file store').slice(2)).toEqual([
      ['10,000', '898,770', '0.01', '0.05', '0.01', '200,000', '400,000', '0.50', '10,000,000', '0.020'],
    ]);
    const rows = tableAfter(markdown, '#### Replay into a fresh node from etcd and Kafka');
    expect(rows[0]).toEqual([
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
    ]);
    expect(rows.slice(2)).toEqual([
      [
        'etcd',
        '10,000',
        '959,918',
        '0.00',
        '0.06',
        '0.01',
        '160,000',
        '250,000',
        '0.64',
        '0.80',
        '1,048,576',
      ],
      ['kafka', '10,000', '956,591', '0.25', '0.13', '0.01', '80,000', '100,000', '0.80', '0.40', '—'],
    ]);
  });

  it('snapshot and restore against state size: one row per size, parts and baselines beside', () => {
    const rows = tableAfter(markdown, '#### Snapshot and restore against state size');
    expect(rows[0]!.slice(0, 4)).toEqual(['keys', 'image bytes', 'body bytes', 'take s']);
    expect(rows.slice(2)).toEqual([
      [
        '10,000',
        '5,300,000',
        '3,200,000',
        '0.13',
        '0.06',
        '80,000',
        '0.002',
        '0.016',
        '0.06',
        '0.02',
        '0.03',
        '160,000',
        '0.001',
        '0.016',
      ],
      [
        '100,000',
        '53,000,000',
        '32,000,000',
        '1.25',
        '0.63',
        '80,000',
        '0.002',
        '0.002',
        '0.50',
        '0.13',
        '0.25',
        '200,000',
        '0.001',
        '0.002',
      ],
    ]);
  });

  it('memory against pending fill: one row per fill, the empty one without bytes/entry', () => {
    const rows = tableAfter(markdown, '#### Memory against pending-buffer fill');
    expect(rows.slice(2).map((r) => [r[1], r[2], r[5], r[6], r[8]])).toEqual([
      ['0.00', '0', '0', '—', '0.00'],
      ['0.25', '25,000', '23,125,000', '925', '1.54'],
      ['0.50', '50,000', '46,250,000', '925', '1.54'],
      ['1.00', '100,000', '92,500,000', '925', '1.54'],
    ]);
  });

  it('links the per-store replay chart and both growth charts', () => {
    expect(markdown).toContain(
      '![Replay time vs log length, per store (file, etcd, kafka)](results/2026-12-03-testbox-replay.svg)',
    );
    expect(markdown).toContain('](results/2026-12-03-testbox-snapshot.svg)');
    expect(markdown).toContain('](results/2026-12-03-testbox-pending-memory.svg)');
  });

  it('a results file without growth rows has no growth sections or charts', () => {
    const older = renderRun(resultsFixture(), 'results');
    expect(older).not.toContain('#### Snapshot');
    expect(older).not.toContain('#### Memory');
    expect(older).not.toContain('from etcd and Kafka');
    expect(chartsFor(resultsFixture()).map((c) => c.file)).toEqual([
      '2026-12-02-testbox-throughput-file.svg',
      '2026-12-02-testbox-latency-file.svg',
      '2026-12-02-testbox-replay.svg',
    ]);
  });
});

describe('charts of the replay and growth rows', () => {
  const charts = renderCharts(growthFixture());
  const svg = (suffix: string) => charts.find((c) => c.file.endsWith(suffix))!.svg;
  const seriesNames = (text: string) => [...text.matchAll(/data-series="([^"]*)"/g)].map((m) => m[1]);

  it('replay vs log length: replay and decode only for every store, open for the file store', () => {
    checkWellFormed(svg('-replay.svg'));
    expect(seriesNames(svg('-replay.svg'))).toEqual([
      'replay, file',
      'decode only, file (baseline)',
      'open as a reader, file',
      'replay, etcd',
      'decode only, etcd (baseline)',
      'replay, kafka',
      'decode only, kafka (baseline)',
    ]);
  });

  it('snapshot and restore vs state size, and memory vs pending fill, one path per series', () => {
    checkWellFormed(svg('-snapshot.svg'));
    expect(seriesNames(svg('-snapshot.svg'))).toEqual([
      'take (pause + save)',
      'of which pause (nothing applied)',
      'restore (load + decode + hash check)',
      'of which load',
      'raw write + fsync of the body (baseline)',
      'raw read of the body (baseline)',
    ]);
    expect(svg('-snapshot.svg')).toContain('keys in the state (log scale)');
    checkWellFormed(svg('-pending-memory.svg'));
    expect(seriesNames(svg('-pending-memory.svg'))).toHaveLength(4);
    expect(svg('-pending-memory.svg')).toContain('MB over the empty buffer');
  });
});

describe('results files committed before these rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oplog-report-old-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('regenerate: tables, the replay chart and no growth parts', () => {
    const committed = resolve(import.meta.dirname, '../../../bench/results');
    // The runs committed before the growth rows existed.
    const files = readdirSync(committed).filter((f) =>
      ['2026-12-01-vm.json', '2026-12-01-vm-2.json'].includes(f),
    );
    expect(files).toHaveLength(2);
    for (const file of files) copyFileSync(join(committed, file), join(dir, file));
    const report = regenerate({ resultsDir: dir, markdownPath: join(dir, 'RESULTS.md') });
    expect(report.runs).toBe(files.length);
    for (const chart of report.charts) checkWellFormed(readFileSync(chart, 'utf8'));
    expect(report.charts.filter((c) => c.endsWith('-replay.svg'))).toHaveLength(files.length);
    const markdown = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
    expect(markdown).toContain('#### Replay into a fresh node (file store');
    expect(markdown).not.toContain('#### Snapshot');
  });
});
