/**
 * Latency, open loop: single-entry appends of 512-byte values offered at fixed rates,
 * lowest first, measured from each op's intended start to durable (coordinated
 * omission avoided: see loops.ts), in an HDR histogram. Our writer and, as the
 * baseline on the same store, the writer without group commit (`batchEntriesMax: 1`).
 * A variant stops climbing at the first rate it cannot sustain (that row says
 * `saturated`): higher rates would only queue. Beside call → durable, the same ops are
 * timed from the same intended start to applied on a standby following each store of
 * the setup (applied.ts).
 */
import { PrimaryWriter } from '../../primary/primary-writer.js';
import { openLoop } from '../loops.js';
import { FIXED_VALUE_BYTES, type BenchPlan } from '../plan.js';
import type { LatencyRow } from '../results.js';
import { openSetup, type Setup } from '../targets.js';
import { Workload } from '../workload.js';
import { startFollowers, type Followers } from './applied.js';

const VARIANTS = [
  { name: 'ours', limits: {} },
  { name: 'no-group-commit', limits: { batchEntriesMax: 1 } },
] as const;

/** Outstanding ops at most: two seconds' worth at the offered rate, within [1,000, 50,000]. */
function outstandingMax(ratePerS: number): number {
  return Math.min(50_000, Math.max(1_000, ratePerS * 2));
}

export async function latencyScenario(plan: BenchPlan): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  const workload = new Workload(FIXED_VALUE_BYTES);
  for (const setup of plan.setups)
    for (const variant of VARIANTS) rows.push(...(await oneVariant(plan, setup, variant, workload)));
  return rows;
}

async function oneVariant(
  plan: BenchPlan,
  setup: Setup,
  variant: (typeof VARIANTS)[number],
  workload: Workload,
): Promise<LatencyRow[]> {
  const stores = await openSetup(setup, plan.ids.take(`lat-${variant.name}`));
  const rows: LatencyRow[] = [];
  let writer: PrimaryWriter | undefined;
  let followers: Followers | undefined;
  try {
    writer = await PrimaryWriter.start({
      stores: stores.stores,
      compression: plan.compression,
      limits: variant.limits,
    });
    const w = writer;
    followers = await startFollowers(plan, setup, stores);
    const f = followers;
    let next = 0;
    for (const ratePerS of [...plan.rates].sort((a, b) => a - b)) {
      const drainMs = Math.min(10_000, Math.max(2_000, plan.caseMs));
      f.step();
      const result = await openLoop(
        async (_index, schedule) => f.acked(await w.append(workload.op(next++)), schedule),
        {
          ratePerS,
          durationMs: plan.caseMs,
          warmupMs: plan.warmupMs,
          outstandingMax: outstandingMax(ratePerS),
          drainMs,
        },
      );
      const applied = await f.finish(drainMs);
      rows.push({
        store: setup.name,
        variant: variant.name,
        valueBytes: FIXED_VALUE_BYTES,
        offeredPerS: ratePerS,
        achievedPerS: result.achievedPerS,
        measuredOps: result.measuredOps,
        failedOps: result.failedOps,
        notIssuedOps: result.notIssuedOps,
        p50Ms: result.latency.p50Ms,
        p99Ms: result.latency.p99Ms,
        p999Ms: result.latency.p999Ms,
        maxMs: result.latency.maxMs,
        saturated: result.saturated,
        applied,
      });
      plan.progress(
        `latency ${setup.name} ${variant.name} at ${ratePerS}/s: p50 ${result.latency.p50Ms.toFixed(2)} ms, p99 ${result.latency.p99Ms.toFixed(2)} ms, achieved ${Math.round(result.achievedPerS)}/s${result.saturated ? ' (saturated)' : ''}; applied p99 ${applied.map((a) => `${a.p99Ms.toFixed(2)} ms (${a.source})`).join(', ')}`,
      );
      if (result.saturated) break;
      // A writer stopped by a failed op would refuse every later one: stop here.
      if (w.state !== 'running') throw w.error ?? new Error('writer stopped');
    }
  } finally {
    await followers?.stop();
    await writer?.close({ drainMs: 10_000 });
    await stores.dispose();
  }
  return rows;
}
