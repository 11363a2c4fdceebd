/**
 * Failover: kill -9 of the primary → the first append acknowledged by the promoted
 * node, through `oplog serve` child processes (failover-cluster.ts) on the setup's real
 * stores, `runs` times per mode:
 *
 * - **manual**: a primary and a standby; right after the kill the bench sends
 *   `POST /v1/promote` to the standby, again every 10 ms while it is refused (not caught
 *   up yet). What a person or an orchestrator adds before that call is not in the figure.
 * - **automatic**: two `serve --role auto` nodes; the survivor waits for the dead
 *   primary's leader key to expire (its lease TTL, the config's default), campaigns and
 *   promotes by itself.
 *
 * Client loops append through the kill (failover-load.ts); the figure runs from the
 * kill to the first ok carrying a higher epoch. The parts come from the promoted node's
 * own `state changed` log lines (wall clock, ms): kill → `promoting` (detection: the
 * promote call's acceptance, or lease expiry + campaign), `promoting` → `primary`
 * (fence, drain, reconcile, writer start), `primary` → first ok. After the runs every
 * store's whole log is read back and judged against every append the clients made
 * (failover-history.ts): a failover that lost an acknowledged append is reported as
 * broken, never as a time.
 *
 * One setup is measured, the widest networked one (etcd+kafka, else etcd, else Kafka):
 * each run starts a served node, seconds each. Automatic failover needs etcd.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OplogClient, OplogHttpError } from '../../client/oplog-client.js';
import { DEFAULT_CONFIG } from '../../config/defaults.js';
import { decodeVerifiedRecord } from '../../core/record-codec.js';
import { seq } from '../../core/types.js';
import type { LogStore } from '../../stores/log-store.js';
import { FailoverCluster, type FailoverMode } from '../failover-cluster.js';
import { anomaliesOf, checkLog, type AppendRecord, type LoggedEntry } from '../failover-history.js';
import { AppendLoad } from '../failover-load.js';
import { FIXED_VALUE_BYTES, median, type BenchPlan } from '../plan.js';
import type { FailoverCheck, FailoverRow, FailoverRun } from '../results.js';
import { openSetup, type Setup } from '../targets.js';
import { Workload } from '../workload.js';
import type { ServedNode } from '../served-node.js';

/** Client loops appending through each kill. */
export const FAILOVER_CLIENT_LOOPS = 4;
/** Before a kill: at least this long under load, and at least this many acks. */
const LOAD_BEFORE_KILL_MS = 1_000;
const ACKS_BEFORE_KILL = 50;
/** After the first ok from the new primary, the load goes on this long (writes on the new epoch). */
const LOAD_AFTER_FAILOVER_MS = 300;
/** A failover not done in this long fails the scenario. */
const FAILOVER_TIMEOUT_MS = 60_000;
/** Between refused appends, and between refused promote calls. */
const RETRY_MS = 10;

/** The setup failover is measured on, the modes, and what is left out (for the run's notes). */
export function failoverPlan(setups: readonly Setup[]): {
  setup: Setup | undefined;
  modes: FailoverMode[];
  notes: string[];
} {
  const networked = setups.filter((s) => s.name !== 'file');
  const setup =
    networked.find((s) => s.name === 'etcd+kafka') ??
    networked.find((s) => s.name === 'etcd') ??
    networked.find((s) => s.name === 'kafka');
  if (setup === undefined)
    return {
      setup,
      modes: [],
      notes: [
        'failover: left out, no etcd or Kafka store given (--store etcd://HOST:PORT, --store kafka://HOST:PORT)',
      ],
    };
  const notes: string[] = [];
  if (networked.length > 1)
    notes.push(`failover: measured on ${setup.name} only (every run starts a served node)`);
  const hasEtcd = setup.stores.some((s) => s.kind === 'etcd');
  if (!hasEtcd) notes.push('failover: automatic left out, its leader key needs an etcd store');
  return { setup, modes: hasEtcd ? ['manual', 'automatic'] : ['manual'], notes };
}

export async function failoverScenario(plan: BenchPlan): Promise<FailoverRow[]> {
  const { setup, modes } = failoverPlan(plan.setups);
  const rows: FailoverRow[] = [];
  if (setup === undefined) return rows;
  for (const mode of modes) rows.push(await oneMode(plan, setup, mode));
  return rows;
}

async function oneMode(plan: BenchPlan, setup: Setup, mode: FailoverMode): Promise<FailoverRow> {
  const stores = await openSetup(setup, plan.ids.take(`failover-${mode}`));
  const dir = join(plan.workDir, stores.clusterId);
  mkdirSync(dir, { recursive: true });
  const cluster = new FailoverCluster({ mode, clusterId: stores.clusterId, stores: setup.stores, dir });
  const history: AppendRecord[] = [];
  const runs: FailoverRun[] = [];
  const value = new Workload(FIXED_VALUE_BYTES).op(1).value;
  try {
    await cluster.start();
    for (let run = 1; run <= plan.failoverRuns; run++) {
      if (run > 1) await cluster.replaceDead();
      await cluster.untilStandbyFollows();
      const result = await oneRun(cluster, mode, { keyPrefix: `r${run}`, value, history });
      runs.push(result);
      plan.progress(
        `failover ${setup.name} ${mode} run ${run}/${plan.failoverRuns}: ${Math.round(result.totalMs)} ms (detection ${part(result.detectionMs)}, promotion ${part(result.promotionMs)}, first ack ${part(result.firstAckMs)}); epoch ${result.fromEpoch} → ${result.toEpoch}`,
      );
    }
    await cluster.stop();
    const checks: FailoverCheck[] = [];
    for (const store of stores.stores) checks.push(checkLog(store.kind, history, await readLog(store, plan)));
    const row = summarize(setup, mode, runs, history, checks);
    plan.progress(
      `failover ${setup.name} ${mode}: p50 ${Math.round(row.p50Ms)} ms, max ${Math.round(row.maxMs)} ms; ${row.ackedOps} acked, ${row.unknownOps} unknown; ${row.anomalies === 0 ? 'no acknowledged append lost' : `**${row.anomalies} ANOMALIES** ${JSON.stringify(checks)}`}`,
    );
    return row;
  } finally {
    await cluster.stop();
    await stores.dispose();
  }
}

function part(ms: number | undefined): string {
  return ms === undefined ? 'not logged' : `${Math.round(ms)} ms`;
}

interface RunInput {
  readonly keyPrefix: string;
  readonly value: Uint8Array;
  readonly history: AppendRecord[];
}

/** One kill: load, kill -9, (manual: promote), the first ok from the new epoch, the parts. */
async function oneRun(cluster: FailoverCluster, mode: FailoverMode, input: RunInput): Promise<FailoverRun> {
  const { primary, standby } = cluster;
  const load = new AppendLoad({
    urls: [primary.url, standby.url],
    loops: FAILOVER_CLIENT_LOOPS,
    retryMs: RETRY_MS,
    ...input,
  });
  try {
    const warmed = sleep(LOAD_BEFORE_KILL_MS);
    await load.nextAck(() => load.acked >= ACKS_BEFORE_KILL, FAILOVER_TIMEOUT_MS);
    await warmed;
    const fromEpoch = load.epochMax;
    const ackedBeforeKill = load.acked;
    const firstNew = load.nextAck((ack) => ack.epoch > fromEpoch, FAILOVER_TIMEOUT_MS);
    const killWallMs = Date.now();
    const killedAtMs = performance.now();
    primary.signal('SIGKILL');
    const promoted = mode === 'manual' ? promoteAtOnce(standby) : Promise.resolve();
    const [first] = await Promise.all([firstNew, promoted, primary.kill9()]);
    cluster.promoted();
    await sleep(LOAD_AFTER_FAILOVER_MS);
    await load.stop();
    const promoting = standby.stateAt('promoting', killWallMs)?.timeMs;
    const becamePrimary = standby.stateAt('primary', promoting ?? killWallMs)?.timeMs;
    return {
      totalMs: first.atMs - killedAtMs,
      ...between('detectionMs', killWallMs, promoting),
      ...between('promotionMs', promoting, becamePrimary),
      ...between('firstAckMs', becamePrimary, first.wallMs),
      ackedBeforeKill,
      fromEpoch: fromEpoch.toString(),
      toEpoch: first.epoch.toString(),
    };
  } finally {
    await load.stop().catch(() => undefined);
  }
}

/**
 * `{ [name]: toMs − fromMs }` when both times were logged, else nothing. Log times are
 * whole ms, so a part can round to −1 ms: it is reported as 0.
 */
function between<K extends string>(
  name: K,
  fromMs: number | undefined,
  toMs: number | undefined,
): Partial<Record<K, number>> {
  if (fromMs === undefined || toMs === undefined) return {};
  return { [name]: Math.max(0, toMs - fromMs) } as Partial<Record<K, number>>;
}

/** POST /v1/promote to `node` until it accepts (a 409 refusal: not caught up yet), bounded. */
async function promoteAtOnce(node: ServedNode): Promise<void> {
  const client = new OplogClient({ urls: [node.url], timeoutMs: FAILOVER_TIMEOUT_MS });
  const until = performance.now() + FAILOVER_TIMEOUT_MS;
  for (;;) {
    try {
      await client.promote();
      return;
    } catch (error) {
      if (!(error instanceof OplogHttpError && error.status === 409) || performance.now() > until)
        throw new Error(`failover: promoting ${node.url} failed: ${String(error)}; ${node.describeTail()}`, {
          cause: error,
        });
    }
    await sleep(RETRY_MS);
  }
}

/** Every entry of `store`'s log, from seq 1. */
async function readLog(store: LogStore, plan: BenchPlan): Promise<LoggedEntry[]> {
  const entries: LoggedEntry[] = [];
  for await (const record of store.read(seq(1n)))
    for (const entry of decodeVerifiedRecord(record, plan.compression))
      entries.push({ seq: entry.seq, type: entry.type, key: entry.key });
  return entries;
}

function summarize(
  setup: Setup,
  mode: FailoverMode,
  runs: readonly FailoverRun[],
  history: readonly AppendRecord[],
  checks: readonly FailoverCheck[],
): FailoverRow {
  const totals = runs.map((r) => r.totalMs);
  const partP50 = (pick: (r: FailoverRun) => number | undefined) => {
    const values = runs.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : median(values);
  };
  const detectionP50Ms = partP50((r) => r.detectionMs);
  const promotionP50Ms = partP50((r) => r.promotionMs);
  const firstAckP50Ms = partP50((r) => r.firstAckMs);
  const count = (kind: AppendRecord['outcome']['kind']) =>
    history.filter((h) => h.outcome.kind === kind).length;
  return {
    store: setup.name,
    mode,
    ...(mode === 'automatic' ? { leaseTtlS: DEFAULT_CONFIG.failover.leaseTtlS } : {}),
    clientLoops: FAILOVER_CLIENT_LOOPS,
    runs,
    p50Ms: median(totals),
    maxMs: Math.max(...totals),
    ...(detectionP50Ms === undefined ? {} : { detectionP50Ms }),
    ...(promotionP50Ms === undefined ? {} : { promotionP50Ms }),
    ...(firstAckP50Ms === undefined ? {} : { firstAckP50Ms }),
    ackedOps: count('ok'),
    failedOps: count('failed'),
    unknownOps: count('unknown'),
    checks,
    anomalies: checks.reduce((sum, c) => sum + anomaliesOf(c), 0),
  };
}
