/**
 * The generated report (src/bench/report/markdown.ts, regenerate.ts): results files
 * become tables whose every figure is a field of the file (formatted, not recomputed),
 * with the ratios to the same-run baselines and links to the charts; the section
 * replaces only what lies between its markers; regenerating from the same files
 * changes nothing; a file that is not a results file is refused by name.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fmt,
  renderRun,
  renderSection,
  replaceSection,
  SECTION_BEGIN,
  SECTION_END,
} from '../../../src/bench/report/markdown.js';
import { readResults, regenerate } from '../../../src/bench/report/regenerate.js';
import { checkWellFormed } from '../../helpers/xml.js';
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

describe('renderRun: JSON → markdown tables', () => {
  const run = resultsFixture();
  const markdown = renderRun(run, 'results');

  it('throughput: one row per store × size × callers, ours beside both baselines and the ratios', () => {
    const rows = tableAfter(markdown, '#### Throughput');
    expect(rows[0]).toEqual([
      'store',
      'value B',
      'callers',
      'ours entries/s',
      'ours MB/s',
      'ours p99 ms',
      'entries/record',
      'no group commit entries/s',
      'ours / no group commit',
      'raw fdatasync entries/s',
      'ours / raw fdatasync',
    ]);
    expect(rows.slice(2)).toEqual([
      ['file', '512', '1', '1,235', '0.6', '1.50', '1.0', '1,200', '1.03', '2,000', '0.62'],
      ['file', '512', '16', '15,000', '7.7', '3.25', '12.0', '2,500', '6.00', '4,000', '3.75'],
    ]);
  });

  it('latency: percentiles per offered rate, saturation marked, p99 side by side where both ran', () => {
    const rows = tableAfter(markdown, '#### Latency');
    expect(rows.slice(2).map((r) => [r[1], r[2], r[5], r[10]])).toEqual([
      ['ours', '1,000', '2.50', 'no'],
      ['ours', '4,000', '3.50', 'no'],
      ['no group commit', '1,000', '120.50', '**yes**'],
    ]);
    const pairs = tableAfter(
      markdown.slice(markdown.indexOf('| store | offered/s | ours p99 ms')),
      '| store',
    );
    expect(pairs.slice(2)).toEqual([['file', '1,000', '2.50', '120.50', '1,000', '700']]);
  });

  it('replay and http tables, the machine line, load averages, the source file, the charts and notes', () => {
    expect(tableAfter(markdown, '#### Replay').slice(2)).toEqual([
      ['10,000', '898,770', '0.01', '0.05', '0.01', '200,000', '400,000', '0.50', '10,000,000', '0.020'],
    ]);
    expect(tableAfter(markdown, '#### Appends over HTTP').slice(2)).toEqual([
      ['16', '3,000', '12.25', '6,000', '0.50', '15,000', '0.20'],
    ]);
    expect(markdown).toContain('### 2026-12-02-testbox');
    expect(markdown).toContain('2 × Test CPU · 24 GiB · Node v20.20.2');
    expect(markdown).toContain(
      'load average (1/5/15 min) at start 1.50 / 2.25 / 3.00, at end 2.00 / 2.50 / 3.13',
    );
    expect(markdown).toContain('commit `0123456789ab`');
    expect(markdown).toContain('from `bench/results/2026-12-02-testbox.json`');
    expect(markdown).toContain('](results/2026-12-02-testbox-throughput-file.svg)');
    expect(markdown).toContain('](results/2026-12-02-testbox-latency-file.svg)');
    expect(markdown).toContain('](results/2026-12-02-testbox-replay.svg)');
    expect(markdown).toContain('- ceilings: left out, no etcd or Kafka store given');
    expect(markdown).not.toContain('#### Server ceilings');
  });

  it('the section lists runs newest first, between its markers', () => {
    const older = resultsFixture('2026-11-30-testbox', '2026-11-30T09:00:00.000Z');
    const section = renderSection([older, run], 'results');
    expect(section.startsWith(SECTION_BEGIN)).toBe(true);
    expect(section.endsWith(SECTION_END)).toBe(true);
    expect(section.indexOf('### 2026-12-02-testbox')).toBeLessThan(section.indexOf('### 2026-11-30-testbox'));
    expect(renderSection([], 'results')).toContain('No results yet');
  });

  it('fmt: en-US grouping with exactly the digits asked for', () => {
    expect([fmt(1234.5), fmt(0.5, 2), fmt(1_000_000, 1)]).toEqual(['1,235', '0.50', '1,000,000.0']);
  });
});

describe('replaceSection', () => {
  const section = `${SECTION_BEGIN}\nnew\n${SECTION_END}`;

  it('replaces only what lies between the markers', () => {
    const doc = `# Results\n\nhand-written above\n\n${SECTION_BEGIN}\nold\n${SECTION_END}\n\n## codec\nhand-written below\n`;
    expect(replaceSection(doc, section)).toBe(
      `# Results\n\nhand-written above\n\n${SECTION_BEGIN}\nnew\n${SECTION_END}\n\n## codec\nhand-written below\n`,
    );
  });

  it('appends the section to a document without markers', () => {
    expect(replaceSection('# Results\n\ntext\n', section)).toBe(`# Results\n\ntext\n\n${section}\n`);
  });

  it('refuses markers out of order or repeated', () => {
    expect(() => replaceSection(`${SECTION_END}\n${SECTION_BEGIN}`, section)).toThrow(/markers/);
    expect(() => replaceSection(`${SECTION_BEGIN}\n${SECTION_END}\n${SECTION_END}`, section)).toThrow(
      /markers/,
    );
    expect(() => replaceSection(`x\n${SECTION_BEGIN}\n`, section)).toThrow(/markers/);
  });
});

describe('regenerate', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'oplog-report-'));
    dirs.push(dir);
    return dir;
  };

  it('writes the charts and the section from the results files, and a second run changes nothing', () => {
    const dir = scratch();
    const resultsDir = join(dir, 'bench', 'results');
    const markdownPath = join(dir, 'bench', 'RESULTS.md');
    regenerate({ resultsDir, markdownPath });
    const run = resultsFixture();
    writeFileSync(join(resultsDir, `${run.runId}.json`), JSON.stringify(run));
    writeFileSync(markdownPath, `# Benchmark results\n\n## codec (hand-written)\n\nkept\n`);

    const first = regenerate({ resultsDir, markdownPath });
    expect(first.runs).toBe(1);
    expect(readdirSync(resultsDir).sort()).toEqual([
      '2026-12-02-testbox-latency-file.svg',
      '2026-12-02-testbox-replay.svg',
      '2026-12-02-testbox-throughput-file.svg',
      '2026-12-02-testbox.json',
    ]);
    for (const chart of first.charts) checkWellFormed(readFileSync(chart, 'utf8'));
    const markdown = readFileSync(markdownPath, 'utf8');
    expect(markdown).toContain('## codec (hand-written)\n\nkept\n');
    expect(markdown).toContain('](results/2026-12-02-testbox-replay.svg)');
    const snapshot = (): Record<string, string> =>
      Object.fromEntries(
        [markdownPath, ...first.charts].map((p) => [p, `${readFileSync(p, 'utf8')}@${statSync(p).mtimeMs}`]),
      );
    const before = snapshot();
    regenerate({ resultsDir, markdownPath });
    // Same bytes, and not even rewritten (same mtimes).
    expect(snapshot()).toEqual(before);
  });

  it('refuses a JSON file that is not a results file, naming it', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ format: 'something-else' }));
    expect(() => readResults(dir)).toThrow(/other\.json is not an oplog-bench\/1 results file/);
    writeFileSync(join(dir, 'other.json'), '{ nope');
    expect(() => readResults(dir)).toThrow(/other\.json is not JSON/);
    writeFileSync(join(dir, 'other.json'), JSON.stringify(resultsFixture()));
    expect(() => readResults(dir)).toThrow(/holds run 2026-12-02-testbox/);
  });
});
