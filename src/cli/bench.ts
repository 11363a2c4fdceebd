/**
 * `oplog bench`: end-to-end benchmarks (src/bench/): throughput, latency (to durable
 * and to applied on a standby), replay, the servers' ceilings, appends over HTTP,
 * failover and growth, each against a baseline measured in the same run; then the
 * results file, the markdown section and the charts (src/bench/report/).
 * Every flag is checked before anything is measured or created; every case is bounded
 * in time. Progress lines go to stderr, the paths written to stdout.
 */
import { Option, type Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLAN_DEFAULTS, SCENARIOS, warmupFor, type BenchPlan, type ScenarioName } from '../bench/plan.js';
import { regenerate } from '../bench/report/regenerate.js';
import { runBench } from '../bench/run.js';
import { ClusterIds, setupsFor } from '../bench/targets.js';
import { loadZstd } from '../compression/zstd.js';
import { parseStoreUrl, STORE_URL_FORMS } from '../config/store-url.js';
import type { StoreConfig } from '../config/types.js';
import { InvalidInputError } from '../core/errors.js';
import { APPEND_VALUE_BYTES_MAX } from '../core/limits.js';
import { examples, runSubcommand, subcommand, type CliIo } from './command.js';
import { integerOption, parseChoice, parseInteger, pathOption } from './flags.js';

/** Most items in one list flag (`--clients`, `--rates`, …). */
export const BENCH_LIST_MAX = 16;
/** Bounds of the list flags' items. */
const BOUNDS = {
  clients: [1, 4_096],
  valueBytes: [1, APPEND_VALUE_BYTES_MAX],
  rates: [1, 1_000_000],
  replayEntries: [1, 10_000_000],
  // A state of 3M keys of 512 B is a ~1.6 GB image, under a snapshot's 2 GiB bound.
  snapshotKeys: [1, 3_000_000],
} as const;
/** A run's estimated measuring time may not exceed this (s): every run is bounded. */
export const BENCH_ESTIMATE_S_MAX = 4 * 3_600;

interface BenchFlags {
  readonly quick?: boolean;
  readonly scenarios?: readonly ScenarioName[];
  readonly store?: readonly string[];
  readonly seconds?: number;
  readonly caseMs?: number;
  readonly rounds?: number;
  readonly clients?: readonly number[];
  readonly valueBytes?: readonly number[];
  readonly rates?: readonly number[];
  readonly replayEntries?: readonly number[];
  readonly httpClients?: readonly number[];
  readonly failoverRuns?: number;
  readonly snapshotKeys?: readonly number[];
  readonly out: string;
  readonly markdown: string;
  readonly workDir?: string;
  readonly reportOnly?: boolean;
}

function listOption(flags: string, description: string, [min, max]: readonly [number, number]): Option {
  const name = flags.split(' ')[0]!;
  return new Option(
    flags,
    `${description}; comma-separated integers in [${min}, ${max}], at most ${BENCH_LIST_MAX}`,
  ).argParser((text: string) => {
    const parts = text.split(',');
    if (parts.length > BENCH_LIST_MAX)
      throw new InvalidInputError(name, `at most ${BENCH_LIST_MAX} values, got ${parts.length}`);
    const values = parts.map((part) => parseInteger(name, part, min, max));
    if (new Set(values).size !== values.length) throw new InvalidInputError(name, 'a value is given twice');
    return values;
  });
}

export function defineBench(io: CliIo): Command {
  return subcommand<BenchFlags>('bench', io, (flags) => run(flags, io))
    .description(
      'measure throughput, latency (to durable, and to applied on a standby), replay, server ceilings, HTTP appends, failover and growth, each against a baseline in the same run; write bench/results/<date>-<machine>.json, the charts and the generated section of bench/RESULTS.md',
    )
    .addOption(
      new Option(
        '--quick',
        'smaller defaults: 1 s per case, 1 round, fewer rates, replay and snapshots to 100k; under 5 minutes on the file store',
      ),
    )
    .addOption(
      new Option('--scenarios <list>', `comma-separated: ${SCENARIOS.join(', ')} (default: all)`).argParser(
        (text: string) => {
          const names = text.split(',').map((name) => parseChoice('--scenarios', name, SCENARIOS));
          if (new Set(names).size !== names.length)
            throw new InvalidInputError('--scenarios', 'a scenario is given twice');
          return names;
        },
      ),
    )
    .addOption(
      new Option(
        '--store <url>',
        `a store to measure, once per store: file (a temporary directory), ${STORE_URL_FORMS} (default: file); with etcd and kafka both given, etcd+kafka is measured too`,
      ).argParser((url: string, previous: string[] | undefined) => [...(previous ?? []), url]),
    )
    .addOption(
      integerOption('--seconds <s>', 'measured time per case (default: 3, quick 1)', { min: 1, max: 600 }),
    )
    .addOption(
      integerOption(
        '--case-ms <ms>',
        'measured time per case in ms, instead of --seconds (for tests and quick looks)',
        { min: 20, max: 600_000 },
      ),
    )
    .addOption(
      integerOption(
        '--rounds <n>',
        'rounds per case, variants interleaved, medians reported (default: 3, quick 1)',
        { min: 1, max: 10 },
      ),
    )
    .addOption(
      listOption('--clients <list>', 'throughput: concurrent callers (default: 1,16,64,256)', BOUNDS.clients),
    )
    .addOption(
      listOption('--value-bytes <list>', 'throughput: value sizes (default: 64,512,8192)', BOUNDS.valueBytes),
    )
    .addOption(
      listOption(
        '--rates <list>',
        'latency: offered entries/s (default: 1000…100000, quick 1000,4000,16000)',
        BOUNDS.rates,
      ),
    )
    .addOption(
      listOption(
        '--replay-entries <list>',
        'replay: log lengths (default: 10000,100000,1000000; quick without 1000000)',
        BOUNDS.replayEntries,
      ),
    )
    .addOption(
      listOption(
        '--http-clients <list>',
        'http: concurrent clients (default: 1,16,64,256, quick 1,16,64)',
        BOUNDS.clients,
      ),
    )
    .addOption(
      integerOption(
        '--failover-runs <n>',
        'failover: kills of the primary per mode, manual and automatic (default: 10, quick 3; needs --store etcd:// or kafka://)',
        { min: 1, max: 100 },
      ),
    )
    .addOption(
      listOption(
        '--snapshot-keys <list>',
        'growth: state sizes in keys of 512 B to snapshot and restore (default: 10000,100000,1000000; quick without 1000000)',
        BOUNDS.snapshotKeys,
      ),
    )
    .addOption(pathOption('--out <dir>', 'where the results files and charts go').default('bench/results'))
    .addOption(
      pathOption('--markdown <file>', 'the markdown file whose generated section is rewritten').default(
        'bench/RESULTS.md',
      ),
    )
    .addOption(
      pathOption(
        '--work-dir <dir>',
        'scratch space for file stores (default: the system temp dir); removed after',
      ),
    )
    .addOption(
      new Option(
        '--report-only',
        'measure nothing: regenerate the markdown and the charts from the results files in --out',
      ),
    )
    .addHelpText(
      'after',
      examples(
        ['oplog bench --quick', 'every scenario on the file store, in under 5 minutes'],
        [
          'oplog bench --quick --store etcd://127.0.0.1:2379 --store kafka://127.0.0.1:9092',
          'etcd, Kafka and etcd+kafka with their ceilings (the file store only when --store file is also given)',
        ],
        ['oplog bench --scenarios latency --rates 1000,5000,20000 --seconds 10', 'a longer latency sweep'],
        ['oplog bench --report-only', 'regenerate bench/RESULTS.md and the charts from bench/results/*.json'],
      ) +
        '\nEach run writes <out>/<date>-<machine>.json (-2, -3… when taken), <out>/<run>-*.svg, and the section of\nthe markdown file between its "oplog bench" markers (appended when missing; the rest is left as it is).\nExit codes: 0 measured and written; 1 a store failed, a measurement could not complete, or a failover lost or\nduplicated an acknowledged append (the results are written); 2 bad input.\n',
    );
}

export function benchCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return runSubcommand(defineBench(io), argv);
}

/** The stores of `--store`, each checked; `file` alone is a file store under `workDir`. */
function storesOf(urls: readonly string[], workDir: string): StoreConfig[] {
  const stores = (urls.length === 0 ? ['file'] : urls).map((url): StoreConfig =>
    url === 'file' ? { kind: 'file', dataDir: workDir } : parseStoreUrl(url, '--store'),
  );
  const kinds = stores.map((s) => s.kind);
  const repeated = kinds.find((k, i) => kinds.indexOf(k) !== i);
  if (repeated !== undefined)
    throw new InvalidInputError('--store', `one store per kind; ${repeated} is given twice`);
  return stores;
}

/** Seconds of measuring the plan asks for, roughly (without store start-up and drains). */
export function estimateSeconds(
  plan: Omit<BenchPlan, 'progress' | 'compression' | 'ids' | 'workDir'>,
): number {
  const caseS = (plan.caseMs + plan.warmupMs) / 1000;
  const has = (name: ScenarioName) => plan.scenarios.includes(name);
  let total = 0;
  for (const setup of plan.setups) {
    const variants = setup.name === 'file' ? 3 : 2;
    if (has('throughput'))
      total += plan.valueBytes.length * plan.clients.length * variants * plan.rounds * caseS;
    if (has('latency')) total += 2 * plan.rates.length * caseS;
    if (has('ceilings') && setup.name !== 'file') total += 4 * caseS;
  }
  // Replay: the file store's log, and the same log on each networked store given.
  const replaySources = 1 + plan.setups.filter((s) => s.name === 'etcd' || s.name === 'kafka').length;
  if (has('replay')) total += replaySources * plan.replayEntries.reduce((sum, n) => sum + n / 20_000, 0);
  if (has('growth')) total += 10 + plan.snapshotKeys.reduce((sum, n) => sum + n / 50_000, 0);
  if (has('http')) total += plan.httpClients.length * 3 * plan.rounds * caseS + 5;
  // Per run: a served node's start (2–7 s here), a second of load, the failover (0.5–3.5 s).
  if (has('failover') && plan.setups.some((s) => s.name !== 'file'))
    total += 2 * (plan.failoverRuns * 6 + 10);
  return Math.round(total);
}

/** The command line of a run, rebuilt from its parsed flags (recorded in the results file). */
export function commandLine(flags: BenchFlags): string[] {
  const line = ['bench'];
  if (flags.quick === true) line.push('--quick');
  if (flags.scenarios !== undefined) line.push('--scenarios', flags.scenarios.join(','));
  for (const url of flags.store ?? []) line.push('--store', url);
  const numbers = [
    ['--seconds', flags.seconds],
    ['--case-ms', flags.caseMs],
    ['--rounds', flags.rounds],
    ['--failover-runs', flags.failoverRuns],
  ] as const;
  for (const [flag, value] of numbers) if (value !== undefined) line.push(flag, String(value));
  const lists = [
    ['--clients', flags.clients],
    ['--value-bytes', flags.valueBytes],
    ['--rates', flags.rates],
    ['--replay-entries', flags.replayEntries],
    ['--http-clients', flags.httpClients],
    ['--snapshot-keys', flags.snapshotKeys],
  ] as const;
  for (const [flag, value] of lists) if (value !== undefined) line.push(flag, value.join(','));
  return line;
}

async function run(flags: BenchFlags, io: CliIo): Promise<number> {
  if (flags.reportOnly === true) {
    const report = regenerate({ resultsDir: flags.out, markdownPath: flags.markdown });
    io.out(
      `regenerated ${report.markdownPath} from ${report.runs} results file(s), ${report.charts.length} chart(s)`,
    );
    return 0;
  }
  if (flags.seconds !== undefined && flags.caseMs !== undefined)
    throw new InvalidInputError('--case-ms', 'give --seconds or --case-ms, not both');
  const defaults = flags.quick === true ? PLAN_DEFAULTS.quick : PLAN_DEFAULTS.full;
  const caseMs = flags.caseMs ?? (flags.seconds === undefined ? defaults.caseMs : flags.seconds * 1000);
  const workDir = mkdtempSync(join(flags.workDir ?? tmpdir(), 'oplog-bench-'));
  try {
    const setups = setupsFor(storesOf(flags.store ?? [], workDir));
    const shape = {
      quick: flags.quick === true,
      scenarios: flags.scenarios ?? SCENARIOS,
      setups,
      caseMs,
      warmupMs: warmupFor(caseMs),
      rounds: flags.rounds ?? defaults.rounds,
      clients: flags.clients ?? defaults.clients,
      valueBytes: flags.valueBytes ?? defaults.valueBytes,
      rates: flags.rates ?? defaults.rates,
      replayEntries: flags.replayEntries ?? defaults.replayEntries,
      httpClients: flags.httpClients ?? defaults.httpClients,
      failoverRuns: flags.failoverRuns ?? defaults.failoverRuns,
      snapshotKeys: flags.snapshotKeys ?? defaults.snapshotKeys,
    };
    const estimate = estimateSeconds(shape);
    if (estimate > BENCH_ESTIMATE_S_MAX)
      throw new InvalidInputError(
        '--seconds',
        `the run would measure for about ${estimate} s, over ${BENCH_ESTIMATE_S_MAX} s`,
      );
    io.err(`oplog bench: about ${estimate} s of measuring, plus store start-up and drains`);
    const plan: BenchPlan = {
      ...shape,
      workDir,
      compression: await loadZstd(),
      ids: new ClusterIds(Date.now().toString(36)),
      progress: (line) => io.err(line),
    };
    const { results, resultsPath, report } = await runBench(plan, {
      resultsDir: flags.out,
      markdownPath: flags.markdown,
      command: commandLine(flags),
    });
    io.out(resultsPath);
    io.out(report.markdownPath);
    for (const chart of report.charts) if (chart.includes(results.runId)) io.out(chart);
    const broken = (results.failover ?? []).filter((row) => row.anomalies > 0);
    for (const row of broken)
      io.err(
        `oplog bench: failover ${row.store} ${row.mode} broke its promise: ${row.anomalies} anomalies in the final logs (${resultsPath})`,
      );
    return broken.length > 0 ? 1 : 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
