/**
 * `oplog bench` as a user runs it (issue 17), shrunk to seconds: a real process runs
 * every file-store scenario (throughput, latency to durable and to applied on a
 * standby, replay, appends through a served primary in a child process, growth; the
 * ceilings and failover left out with a note) with 50 ms cases and tiny sizes, and writes the results
 * file, the markdown section and the charts; every figure in the markdown's tables is
 * a figure of the results file, every chart it links exists and is well-formed XML,
 * and `--report-only` regenerates the same bytes. Bad flags are refused before
 * anything is written.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SECTION_BEGIN, SECTION_END, fmt } from '../../src/bench/report/markdown.js';
import { RESULTS_FORMAT, type BenchResults } from '../../src/bench/results.js';
import { runOplog } from '../helpers/cli-process.js';
import { checkWellFormed } from '../helpers/xml.js';

const dir = mkdtempSync(join(tmpdir(), 'oplog-bench-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every number in a JSON value, formatted as the report may print it. */
function printable(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'number') for (let digits = 0; digits <= 3; digits++) out.add(fmt(value, digits));
  else if (Array.isArray(value)) for (const item of value) printable(item, out);
  else if (value !== null && typeof value === 'object')
    for (const item of Object.values(value)) printable(item, out);
  return out;
}

describe('oplog bench --quick, shrunk', () => {
  const resultsDir = join(dir, 'results');
  const markdownPath = join(dir, 'RESULTS.md');
  const args = [
    'bench',
    '--quick',
    '--case-ms',
    '50',
    '--clients',
    '1,4',
    '--value-bytes',
    '64,512',
    '--rates',
    '100,400',
    '--replay-entries',
    '300,1000',
    '--http-clients',
    '2',
    '--snapshot-keys',
    '1000,3000',
    '--work-dir',
    dir,
    '--out',
    resultsDir,
    '--markdown',
    markdownPath,
  ];

  it(
    'writes the results file, the markdown section and the charts, all consistent',
    { timeout: 240_000 },
    async () => {
      const result = await runOplog(args);
      expect(result.status, result.stderr).toBe(0);
      // Progress on stderr, one line per case; the paths written on stdout.
      expect(result.stderr).toMatch(/throughput file 64 B × 1 clients: ours \d+\/s/);
      expect(result.stderr).toMatch(/latency file ours at 100\/s: p50 [\d.]+ ms/);
      expect(result.stderr).toMatch(/replay 1000 entries: \d+\/s/);
      expect(result.stderr).toMatch(/http 2 clients: serve \d+ req\/s/);
      expect(result.stderr).toMatch(/growth pending 100% \(100000 entries\): [\d.]+ MB held/);
      expect(result.stderr).toMatch(/growth snapshot 3000 keys: take [\d.]+ s/);
      const written = result.stdout.trim().split('\n');
      const resultsPath = written[0]!;
      expect(resultsPath).toMatch(new RegExp(`^${resultsDir}/\\d{4}-\\d{2}-\\d{2}-[a-z0-9-]+\\.json$`));
      expect(written[1]).toBe(markdownPath);

      const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as BenchResults;
      expect(results.format).toBe(RESULTS_FORMAT);
      expect(results.machine.cores).toBeGreaterThan(0);
      expect(results.machine.loadAverageStart).toHaveLength(3);
      expect(results.machine.loadAverageEnd).toHaveLength(3);
      expect(results.commit.sha).toMatch(/^[0-9a-f]{40}$/);
      expect(results.command).toEqual(args.slice(0, 16));
      // Every case of the plan is there, each with a baseline from the same run.
      expect(results.throughput.map((r) => [r.store, r.valueBytes, r.clients])).toEqual([
        ['file', 64, 1],
        ['file', 64, 4],
        ['file', 512, 1],
        ['file', 512, 4],
      ]);
      for (const row of results.throughput) {
        expect(row.ours.ops).toBeGreaterThan(0);
        expect(row.noGroupCommit.ops).toBeGreaterThan(0);
        expect(row.rawFdatasync!.ops).toBeGreaterThan(0);
        expect(row.oursOverNoGroupCommit).toBeGreaterThan(0);
      }
      expect(results.latency.filter((r) => r.variant === 'ours').map((r) => r.offeredPerS)[0]).toBe(100);
      expect(results.latency.some((r) => r.variant === 'no-group-commit')).toBe(true);
      for (const row of results.latency) {
        expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms);
        // Call → applied on a standby following the file store, for the same ops.
        expect(row.applied!.map((a) => a.source)).toEqual(['file']);
        expect(row.applied![0]!.measuredOps).toBeGreaterThan(0);
        expect(row.applied![0]!.p99Ms).toBeGreaterThanOrEqual(row.applied![0]!.p50Ms);
      }
      expect(results.replay.map((r) => r.entries)).toEqual([300, 1000]);
      expect(results.http.map((r) => r.clients)).toEqual([2]);
      expect(results.http[0]!.serveRequestsPerS).toBeGreaterThan(0);
      expect(results.snapshots!.map((r) => r.keys)).toEqual([1000, 3000]);
      expect(results.pendingMemory!.map((r) => r.fillFraction)).toEqual([0, 0.25, 0.5, 1]);
      expect(results.options.snapshotKeys).toEqual([1000, 3000]);
      expect(results.ceilings).toEqual([]);
      expect(results.notes.join('\n')).toContain('ceilings: left out');
      expect(results.notes.join('\n')).toContain('failover: left out, no etcd or Kafka store given');
      expect(results.notes.join('\n')).not.toContain('call → applied');
      expect(results.failover).toEqual([]);

      // The markdown: the section, whose every table figure is one of the file's.
      const markdown = readFileSync(markdownPath, 'utf8');
      const section = markdown.slice(markdown.indexOf(SECTION_BEGIN), markdown.indexOf(SECTION_END));
      expect(section).toContain(`### ${results.runId}`);
      const known = printable(results);
      const cells = section
        .split('\n')
        .filter((line) => line.startsWith('| ') && !line.startsWith('| ---'))
        .flatMap((line) => line.slice(2, -2).split(' | '))
        .filter((cell) => /^[\d,]+(\.\d+)?$/.test(cell));
      expect(cells.length).toBeGreaterThan(50);
      expect(cells.filter((cell) => !known.has(cell))).toEqual([]);

      // The charts: linked from the markdown, present, well-formed, one path per series.
      const links = [...section.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((m) => m[1]!);
      expect(links.map((l) => l.replace(/^results\//, '').replace(results.runId, 'RUN'))).toEqual([
        'RUN-throughput-file.svg',
        'RUN-latency-file.svg',
        'RUN-applied-file.svg',
        'RUN-replay.svg',
        'RUN-snapshot.svg',
        'RUN-pending-memory.svg',
      ]);
      for (const link of links) {
        const svg = readFileSync(join(dir, link), 'utf8');
        checkWellFormed(svg);
        expect(svg).toContain('<text class="label x"');
      }
      const throughputSvg = readFileSync(join(dir, links[0]!), 'utf8');
      // 2 sizes × (ours, no group commit, raw fdatasync).
      expect([...throughputSvg.matchAll(/<path class="series"/g)]).toHaveLength(6);

      // --report-only regenerates the same bytes from the results files.
      const before = readdirSync(resultsDir).map((f) => [f, readFileSync(join(resultsDir, f), 'utf8')]);
      const again = await runOplog([
        'bench',
        '--report-only',
        '--out',
        resultsDir,
        '--markdown',
        markdownPath,
      ]);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toBe(`regenerated ${markdownPath} from 1 results file(s), 6 chart(s)\n`);
      expect(readFileSync(markdownPath, 'utf8')).toBe(markdown);
      expect(readdirSync(resultsDir).map((f) => [f, readFileSync(join(resultsDir, f), 'utf8')])).toEqual(
        before,
      );
      // Nothing left behind in the scratch dir but what was asked for.
      expect(readdirSync(dir).sort()).toEqual(['RESULTS.md', 'results']);
    },
  );

  it('refuses bad flags with exit 2 before writing anything', { timeout: 120_000 }, async () => {
    const out = join(dir, 'refused');
    const cases = [
      [['--clients', '0'], /invalid --clients: must be an integer in \[1, 4096\]/],
      [
        ['--scenarios', 'throughput,bogus'],
        /invalid --scenarios: must be one of throughput, latency, replay, ceilings, http, failover/,
      ],
      [['--store', 'redis://x'], /unknown store scheme "redis"/],
      [['--store', 'file', '--store', 'file'], /one store per kind; file is given twice/],
      [['--seconds', '2', '--case-ms', '100'], /give --seconds or --case-ms, not both/],
      [['--rates', '1,1'], /invalid --rates: a value is given twice/],
      [['--failover-runs', '0'], /invalid --failover-runs: must be an integer in \[1, 100\]/],
      [['--snapshot-keys', '3000001'], /invalid --snapshot-keys: must be an integer in \[1, 3000000\]/],
      [['--seconds', '600', '--rounds', '10'], /the run would measure for about \d+ s, over 14400 s/],
    ] as const;
    const results = await Promise.all(
      cases.map(([flags]) => runOplog(['bench', ...flags, '--out', out, '--markdown', join(out, 'R.md')])),
    );
    results.forEach((result, i) => {
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toMatch(cases[i]![1]);
      expect(result.stdout).toBe('');
    });
    expect(existsSync(out)).toBe(false);
  });
});
