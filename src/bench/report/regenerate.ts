/**
 * Regenerates the report from the results files: reads every `*.json` in the results
 * directory, writes each run's charts beside them, and rewrites the generated section
 * of the markdown file (creating the file if missing). Running it twice changes
 * nothing: the output depends only on the results files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { RESULTS_FORMAT, type BenchResults } from '../results.js';
import { renderCharts } from './charts.js';
import { renderSection, replaceSection } from './markdown.js';

/** Largest results file read (a run's JSON is tens of KB). */
const RESULTS_FILE_BYTES_MAX = 16 * 1024 * 1024;

export interface Regenerated {
  readonly runs: number;
  readonly charts: readonly string[];
  readonly markdownPath: string;
}

/** Reads and checks every results file in `resultsDir`, oldest name first. */
export function readResults(resultsDir: string): BenchResults[] {
  if (!existsSync(resultsDir)) return [];
  const files = readdirSync(resultsDir)
    .filter((name) => name.endsWith('.json'))
    .sort();
  return files.map((name) => {
    const path = join(resultsDir, name);
    const text = readFileSync(path, 'utf8');
    if (text.length > RESULTS_FILE_BYTES_MAX)
      throw new Error(`bench report: ${path} is over ${RESULTS_FILE_BYTES_MAX} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`bench report: ${path} is not JSON`, { cause: error });
    }
    const results = parsed as Partial<BenchResults>;
    if (results.format !== RESULTS_FORMAT)
      throw new Error(
        `bench report: ${path} is not an ${RESULTS_FORMAT} results file (format ${JSON.stringify(results.format)})`,
      );
    if (`${results.runId}.json` !== name) throw new Error(`bench report: ${path} holds run ${results.runId}`);
    return results as BenchResults;
  });
}

export function regenerate({
  resultsDir,
  markdownPath,
}: {
  resultsDir: string;
  markdownPath: string;
}): Regenerated {
  const runs = readResults(resultsDir);
  const charts: string[] = [];
  mkdirSync(resultsDir, { recursive: true });
  for (const run of runs)
    for (const { file, svg } of renderCharts(run)) {
      const path = join(resultsDir, file);
      writeIfChanged(path, svg);
      charts.push(path);
    }
  const chartDir = relative(dirname(markdownPath), resultsDir).split(sep).join('/') || '.';
  const section = renderSection(runs, chartDir);
  const existing = existsSync(markdownPath) ? readFileSync(markdownPath, 'utf8') : '# Benchmark results\n';
  mkdirSync(dirname(markdownPath), { recursive: true });
  writeIfChanged(markdownPath, replaceSection(existing, section));
  return { runs: runs.length, charts, markdownPath };
}

function writeIfChanged(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  writeFileSync(path, text);
}
