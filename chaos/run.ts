/**
 * `npm run chaos -- [--minutes N] [--seed S] [--faults N] [--kinds a,b] [--then-seed R
 * --then-faults M] [--out FILE] [--keep-logs]`: one fault-suite run (runner.ts) against
 * real etcd, Kafka and `oplog serve` nodes started here. Without `--minutes` every fault
 * kind is injected once (or `--faults N` in all); with it, faults of the seeded plan
 * follow each other for N minutes. `--then-seed` adds M (default 3) faults of another
 * seed's plan on the same cluster (what CI does with a random seed). Prints
 * the plan, a line per fault, then the report's table; writes the JSON report to
 * `--out` (default chaos/results/seed-S-<time>.json), and the nodes' log lines beside it
 * when the run fails (or with `--keep-logs`). Exit 0: no anomaly and every node
 * caught up; 1: an anomaly, or the cluster did not recover; 2: bad arguments.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind } from './nemesis.js';
import { reportJson, reportTable } from './report.js';
import { runChaos } from './runner.js';

function usage(message: string): never {
  console.error(`chaos: ${message}`);
  console.error(`kinds: ${FAULT_KINDS.join(', ')}`);
  process.exit(2);
}

function positiveNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0)
    usage(`--${name} must be a positive number, got ${text}`);
  return Number(text);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        minutes: { type: 'string' },
        seed: { type: 'string' },
        faults: { type: 'string' },
        kinds: { type: 'string' },
        'then-seed': { type: 'string' },
        'then-faults': { type: 'string' },
        out: { type: 'string' },
        'keep-logs': { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const seedText = values.seed;
  if (seedText !== undefined && !/^\d{1,10}$/.test(seedText))
    usage(`--seed must be an integer, got ${seedText}`);
  const seed = seedText === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(seedText) >>> 0;
  const kinds = values.kinds?.split(',').map((k) => k.trim()) ?? [...FAULT_KINDS];
  for (const kind of kinds)
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) usage(`unknown fault kind ${kind}`);
  const minutes = positiveNumber('minutes', values.minutes);
  const faults = positiveNumber('faults', values.faults);
  const thenSeed = values['then-seed'];
  if (thenSeed !== undefined && !/^\d{1,10}$/.test(thenSeed))
    usage(`--then-seed must be an integer, got ${thenSeed}`);
  const thenFaults = positiveNumber('then-faults', values['then-faults']) ?? 3;
  const log = (line: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const { report, ok, nodeLogs, serverLogs } = await runChaos({
    seed,
    ...(minutes === undefined ? {} : { minutes }),
    ...(faults === undefined ? {} : { faults }),
    ...(thenSeed === undefined ? {} : { then: { seed: Number(thenSeed) >>> 0, faults: thenFaults } }),
    kinds: kinds as FaultKind[],
    log,
  });
  const out =
    values.out ??
    join(import.meta.dirname, 'results', `seed-${seed}-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, reportJson(report));
  if (!ok || values['keep-logs'] === true) {
    const logsDir = out.replace(/\.json$/, '') + '-logs';
    mkdirSync(logsDir, { recursive: true });
    for (const [node, lines] of nodeLogs)
      writeFileSync(join(logsDir, `${node}.ndjson`), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    for (const [name, text] of serverLogs) writeFileSync(join(logsDir, name), text);
    console.log(`node and server logs: ${logsDir}`);
  }
  console.log(`\n${reportTable(report)}`);
  for (const [kind, list] of Object.entries(report.anomalies.examples))
    for (const example of list) console.log(`  ${kind}: ${example}`);
  for (const note of report.notes) console.log(`  note: ${note}`);
  console.log(`report: ${out}`);
  const repeat = `--seed ${seed}${thenSeed === undefined ? '' : ` --then-seed ${thenSeed} --then-faults ${thenFaults}`}`;
  console.log(ok ? 'PASS' : `FAIL (repeat with ${repeat})`);
  process.exit(ok ? 0 : 1);
}

// Ctrl-C or SIGTERM: exit, so that the 'exit' handlers kill every node and server.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.error(`chaos: ${signal}, stopping every node and server`);
    process.exit(130);
  });

await main();
