/**
 * One `oplog bench` run: records the machine and the commit, runs the planned
 * scenarios in order (each bounded by its plan), writes the results file
 * `<resultsDir>/<date>-<machine>[-n].json`, and regenerates the report from every
 * results file there. A scenario that cannot run on the given setups (the ceilings
 * or failover without etcd or Kafka) is left out with a note, never silently.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdStoreConfig, KafkaStoreConfig } from '../config/types.js';
import { etcdVersion, gitCommit, kafkaVersion, loadAverage, machineBasics, machineSlug } from './machine.js';
import type { BenchPlan, ScenarioName } from './plan.js';
import { regenerate, type Regenerated } from './report/regenerate.js';
import { RESULTS_FORMAT, type BenchResults, type MachineInfo } from './results.js';
import { ceilingsScenario } from './scenarios/ceilings.js';
import { failoverPlan, failoverScenario } from './scenarios/failover.js';
import { httpScenario } from './scenarios/http.js';
import { latencyScenario } from './scenarios/latency.js';
import { growthScenario } from './scenarios/growth.js';
import { replayScenario } from './scenarios/replay.js';
import { throughputScenario } from './scenarios/throughput.js';

export interface RunOutput {
  readonly results: BenchResults;
  readonly resultsPath: string;
  readonly report: Regenerated;
}

/** A results file name not taken yet: `<date>-<machine>`, then `-2`, `-3`, … */
export function freeRunId(resultsDir: string, date: string, machine: string): string {
  const stem = `${date}-${machine}`;
  for (let n = 1; n < 10_000; n++) {
    const runId = n === 1 ? stem : `${stem}-${n}`;
    if (!existsSync(join(resultsDir, `${runId}.json`))) return runId;
  }
  throw new Error(`bench: 10,000 results files named ${stem}-* already in ${resultsDir}`);
}

export async function runBench(
  plan: BenchPlan,
  {
    resultsDir,
    markdownPath,
    command,
  }: { resultsDir: string; markdownPath: string; command: readonly string[] },
): Promise<RunOutput> {
  const startedAt = new Date();
  const loadAverageStart = loadAverage();
  const commit = gitCommit();
  const versions = await serverVersions(plan);
  plan.progress(
    `bench: ${plan.scenarios.join(', ')} on ${plan.setups.map((s) => s.name).join(', ')}; ${plan.caseMs} ms per case; load average ${loadAverageStart.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const notes: string[] = [];
  const ran = new Set<ScenarioName>(plan.scenarios);
  const networked = plan.setups.some((s) => s.name !== 'file');
  if (ran.has('ceilings') && !networked) {
    ran.delete('ceilings');
    notes.push(
      'ceilings: left out, no etcd or Kafka store given (--store etcd://HOST:PORT, --store kafka://HOST:PORT)',
    );
  }
  if (ran.has('failover')) {
    const { setup, notes: left } = failoverPlan(plan.setups);
    if (setup === undefined) ran.delete('failover');
    notes.push(...left);
  }
  const step = async <T>(name: ScenarioName, body: () => Promise<T[]>): Promise<T[]> => {
    if (!ran.has(name)) return [];
    const t0 = performance.now();
    const rows = await body();
    plan.progress(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return rows;
  };
  const throughput = await step('throughput', () => throughputScenario(plan));
  const latency = await step('latency', () => latencyScenario(plan));
  const replay = await step('replay', () => replayScenario(plan, notes));
  const ceilings = await step('ceilings', () => ceilingsScenario(plan));
  const http = await step('http', () => httpScenario(plan));
  const failover = await step('failover', () => failoverScenario(plan));
  const growth = await step('growth', async () => [await growthScenario(plan)]);
  if (ran.has('http')) notes.push('http: file store only, single-entry bodies of 512-byte values');

  const machine: MachineInfo = {
    ...machineBasics(),
    loadAverageStart,
    loadAverageEnd: loadAverage(),
    ...versions,
  };
  mkdirSync(resultsDir, { recursive: true });
  const runId = freeRunId(resultsDir, startedAt.toISOString().slice(0, 10), machineSlug());
  const results: BenchResults = {
    format: RESULTS_FORMAT,
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command,
    commit,
    machine,
    options: {
      quick: plan.quick,
      scenarios: [...ran],
      stores: plan.setups.map((s) => s.name),
      caseMs: plan.caseMs,
      rounds: plan.rounds,
      clients: plan.clients,
      valueBytes: plan.valueBytes,
      rates: plan.rates,
      replayEntries: plan.replayEntries,
      ...(ran.has('failover') ? { failoverRuns: plan.failoverRuns } : {}),
      snapshotKeys: plan.snapshotKeys,
    },
    throughput,
    latency,
    replay,
    ceilings,
    http,
    failover,
    snapshots: growth.flatMap((g) => g.snapshots),
    pendingMemory: growth.flatMap((g) => g.pendingMemory),
    notes,
  };
  const resultsPath = join(resultsDir, `${runId}.json`);
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  const report = regenerate({ resultsDir, markdownPath });
  return { results, resultsPath, report };
}

async function serverVersions(plan: BenchPlan): Promise<{ etcdVersion?: string; kafkaVersion?: string }> {
  const stores = plan.setups.flatMap((s) => s.stores);
  const etcd = stores.find((s): s is EtcdStoreConfig => s.kind === 'etcd');
  const kafka = stores.find((s): s is KafkaStoreConfig => s.kind === 'kafka');
  return {
    ...(etcd === undefined ? {} : { etcdVersion: await etcdVersion(etcd) }),
    ...(kafka === undefined ? {} : { kafkaVersion: await kafkaVersion(kafka) }),
  };
}
