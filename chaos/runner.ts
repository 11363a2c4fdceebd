/**
 * One fault-suite run: a cluster of `oplog serve` nodes on a real etcd and Kafka, the
 * workload and a watch follower per node recording the history, the faults of a
 * seeded plan each health-checked before and after, then the end: faults stopped,
 * every node caught up, each node's final state collected, the checker run over it
 * all, and the report (report.ts). The plan is a function of the seed alone, so a
 * failing run is repeated with its seed (what the processes do in between is not).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../test/helpers/prng.js';
import { check } from './checker.js';
import { Cluster, type NodeSpec } from './cluster.js';
import { collectFinal, waitConverged } from './final-state.js';
import { waitHealthy } from './health.js';
import type { History, NodeFinal } from './history.js';
import { Monitor, promotions, skipsByNode } from './monitor.js';
import { FAULT_KINDS, HOLD_MS, inject, type FaultContext, type FaultKind } from './nemesis.js';
import { buildReport, type ChaosReport, type FaultRecord } from './report.js';
import { WatchFollower } from './watch-follower.js';
import { Workload } from './workload.js';

export interface ChaosOptions {
  readonly seed: number;
  /** Inject faults for this long; undefined: each planned fault once (`faults`). */
  readonly minutes?: number;
  /** How many faults to plan when `minutes` is not given; at least one of each kind. */
  readonly faults?: number;
  /**
   * Then, on the same cluster, `faults` more from another seed's plan (its first ones:
   * a random subset when fewer than the kinds). CI runs a fixed seed, then a random one.
   */
  readonly then?: { readonly seed: number; readonly faults: number };
  readonly kinds?: readonly FaultKind[];
  readonly log: (line: string) => void;
}

const KEYS = 32;
const HEALTH_TIMEOUT_MS = 60_000;

/** The nodes: two on Kafka, one on etcd through the proxies; all campaign. n4 is the empty one. */
const NODES: readonly NodeSpec[] = [
  { name: 'n1', role: 'auto', source: 'kafka', viaProxy: false },
  { name: 'n2', role: 'auto', source: 'kafka', viaProxy: false },
  { name: 'n3', role: 'auto', source: 'etcd', viaProxy: true },
];
const EMPTY_NODE: NodeSpec = { name: 'n4', role: 'auto', source: 'kafka', viaProxy: false };

interface Step {
  readonly seed: number;
  readonly kind: FaultKind;
  readonly holdMs: number;
  /** The seed's stream for the faults' own choices (which record, which peer). */
  readonly random: Prng;
}

/**
 * A seed's plan: the kinds (makePlan) and hold times from one stream, the faults'
 * choices from another, so they replay exactly from the seed whatever the workload
 * and the proxies draw meanwhile.
 */
function planSteps(seed: number, kinds: readonly FaultKind[], count: number): Step[] {
  const planRandom = new Prng(seed);
  const faultRandom = new Prng(seed ^ 0x5eed);
  return makePlan(() => planRandom.next(), kinds, count).map((kind) => ({
    seed,
    kind,
    holdMs: HOLD_MS[kind][0] + planRandom.int(0, HOLD_MS[kind][1] - HOLD_MS[kind][0]),
    random: faultRandom,
  }));
}

/** Every kind once in a shuffled order, then random kinds (never one twice in a row). */
export function makePlan(random: () => number, kinds: readonly FaultKind[], count: number): FaultKind[] {
  const plan = [...kinds];
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  while (plan.length < count) {
    const kind = kinds[Math.floor(random() * kinds.length)]!;
    if (kinds.length === 1 || kind !== plan.at(-1)) plan.push(kind);
  }
  return plan;
}

export interface ChaosResult {
  readonly report: ChaosReport;
  readonly ok: boolean;
  /** Every node's log lines (all incarnations, in order), to keep when a run fails. */
  readonly nodeLogs: ReadonlyMap<string, readonly Record<string, unknown>[]>;
  /** The servers' own logs (etcd's, the broker's), read before their dirs are removed. */
  readonly serverLogs: ReadonlyMap<string, string>;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { seed, log } = options;
  const kinds = options.kinds ?? FAULT_KINDS;
  const count =
    options.minutes === undefined
      ? Math.max(kinds.length, options.faults ?? 0)
      : Math.ceil(options.minutes * 6);
  const steps = planSteps(seed, kinds, count);
  if (options.then !== undefined)
    steps.push(...planSteps(options.then.seed, kinds, options.then.faults).slice(0, options.then.faults));
  for (const part of options.then === undefined ? [seed] : [seed, options.then.seed]) {
    const mine = steps.filter((s) => s.seed === part);
    log(`seed ${part}; plan (${mine.length}): ${mine.map((s) => `${s.kind}:${s.holdMs}ms`).join(' ')}`);
  }
  const random = new Prng(seed ^ 0xbeef);

  const startMs = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'oplog-chaos-'));
  const clusterId = `chaos-${seed}-${process.pid}`;
  const cluster = await Cluster.start({ dir, clusterId, random: () => random.next(), nodes: NODES });
  const notes: string[] = [];
  const followers = new Map<string, WatchFollower>();
  const follow = () => {
    for (const node of cluster.nodes.values())
      if (!followers.has(node.name)) {
        const follower = new WatchFollower({
          node: node.name,
          watcher: `watch-${node.name}`,
          url: () => (node.alive && !node.paused ? node.url : undefined),
          fromSeq: 1n,
          idleMs: 20_000,
        });
        followers.set(node.name, follower);
        follower.start();
      }
  };
  const monitor = new Monitor(cluster);
  const workload = new Workload({
    urls: () => cluster.urls,
    random: () => random.next(),
    writers: 3,
    readers: 2,
    keys: KEYS,
    pauseMs: 10,
    readFraction: 0.3,
    timeoutMs: 4_000,
  });
  const faults: FaultRecord[] = [];
  try {
    await startNodes(cluster, log);
    follow();
    monitor.start();
    workload.start();
    const deadlineMs = options.minutes === undefined ? Infinity : startMs + options.minutes * 60_000;
    for (const [index, { kind, holdMs, random: faultRandom }] of steps.entries()) {
      if (Date.now() > deadlineMs) break;
      const ctx: FaultContext = {
        cluster,
        random: () => faultRandom.next(),
        etcdFollower: 'n3',
        emptyNode: EMPTY_NODE,
        ackedBetween: (fromMs, toMs) =>
          workload.appends
            .filter((op) => op.outcome.type === 'ok' && op.completeMs >= fromMs && op.completeMs <= toMs)
            .map((op) => op.completeMs)
            .sort((a, b) => a - b),
      };
      const fault = await runFault(index, kind, holdMs, ctx, () => workload.lastOkMs, workload);
      faults.push(fault);
      follow();
      log(
        `#${index} ${kind}: ${fault.error ?? fault.detail}; ${fault.healed ?? ''}${fault.outcome === undefined ? '' : `; ${fault.outcome}`}; failover ${fault.failoverMs ?? '-'} ms; healthy again ${fault.after.ok ? `after ${fault.after.waitedMs} ms` : `NOT within ${HEALTH_TIMEOUT_MS} ms: ${fault.after.reason}`}${fault.after.restarted.length > 0 ? ` (${fault.after.restarted.join('; ')})` : ''}`,
      );
      await sleep(1_000 + faultRandom.int(0, 2_000));
    }
    const { finals, converged } = await finish(
      cluster,
      workload,
      [...followers.values()],
      monitor,
      notes,
      log,
    );
    const history: History = {
      appends: workload.appends,
      reads: workload.reads,
      watches: [...followers.values()].flatMap((f) => f.streams),
      promotions: promotions(cluster, monitor.samples),
      skipsByNode: skipsByNode(cluster),
      finals,
    };
    const verdict = check(history);
    const nodeLogs = new Map(
      [...cluster.nodes.values()].map((n) => [
        n.name,
        n.logs().map(({ incarnation, line }) => ({ incarnation, ...line })),
      ]),
    );
    const report = buildReport(
      {
        seeds: options.then === undefined ? [seed] : [seed, options.then.seed],
        clusterId,
        plan: steps.slice(0, faults.length).map((s) => s.kind),
        startedAt: new Date(startMs).toISOString(),
        durationS: Math.round((Date.now() - startMs) / 1000),
        notes,
      },
      faults,
      workload.appends,
      verdict,
      finals,
      history.promotions,
    );
    const serverLogs = new Map<string, string>();
    for (const [name, path] of [
      ...cluster.etcd.members.map((m) => [`etcd-${m.name}.log`, join(m.dir, 'etcd.log')] as const),
      ['kafka-server.log', join(cluster.kafka.dir, 'server.log')],
      ['kafka-stdout.log', join(cluster.kafka.dir, 'stdout.log')],
    ] as const)
      if (existsSync(path)) serverLogs.set(name, readFileSync(path, 'utf8'));
    return { report, ok: verdict.valid && converged, nodeLogs, serverLogs };
  } finally {
    await workload.stop();
    await Promise.all([...followers.values()].map((f) => f.stop()));
    await monitor.stop();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** n1 first, until it writes; then the others, which follow it. */
async function startNodes(cluster: Cluster, log: (line: string) => void): Promise<void> {
  const [first, ...rest] = [...cluster.nodes.values()];
  await first!.start();
  const deadline = Date.now() + 60_000;
  while ((await cluster.writers()).length === 0) {
    if (Date.now() > deadline) throw new Error(`${first!.name} did not start writing within 60 s`);
    await sleep(200);
  }
  await Promise.all(rest.map((n) => n.start()));
  log(`nodes up: ${[...cluster.nodes.values()].map((n) => `${n.name} ${n.url}`).join(', ')}`);
}

async function runFault(
  index: number,
  kind: FaultKind,
  holdMs: number,
  ctx: FaultContext,
  lastOkMs: () => number,
  workload: Workload,
): Promise<FaultRecord> {
  const before = await waitHealthy(ctx.cluster, lastOkMs, HEALTH_TIMEOUT_MS);
  const injectedMs = Date.now();
  let injected;
  try {
    injected = await inject(kind, ctx);
  } catch (error) {
    const after = await waitHealthy(ctx.cluster, lastOkMs, HEALTH_TIMEOUT_MS);
    return {
      index,
      kind,
      before,
      injectedMs,
      detail: '',
      healedMs: Date.now(),
      healed: undefined,
      after,
      outcome: undefined,
      failoverMs: undefined,
      error: `not injected: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  await sleep(holdMs);
  const healed = await injected.heal();
  const healedMs = Date.now();
  const after = await waitHealthy(ctx.cluster, lastOkMs, HEALTH_TIMEOUT_MS);
  const taken = injected.writerTaken;
  const firstAck =
    taken === undefined
      ? undefined
      : workload.appends.find(
          (op) => op.outcome.type === 'ok' && op.outcome.epoch > taken.epoch && op.completeMs >= injectedMs,
        );
  const outcome = await injected.verify?.();
  const restored = await injected.restore?.().catch((error: unknown) => `NOT restored: ${String(error)}`);
  return {
    index,
    kind,
    before,
    injectedMs,
    detail: injected.detail,
    healedMs,
    healed,
    after,
    outcome: restored === undefined ? outcome : `${outcome ?? ''}; ${restored}`,
    failoverMs: firstAck === undefined ? undefined : firstAck.completeMs - injectedMs,
    error: undefined,
  };
}

/** Ends the run: healthy, workload stopped, everyone caught up, followers stopped, final states read. */
async function finish(
  cluster: Cluster,
  workload: Workload,
  followers: readonly WatchFollower[],
  monitor: Monitor,
  notes: string[],
  log: (line: string) => void,
): Promise<{ finals: NodeFinal[]; converged: boolean }> {
  cluster.setNetwork('pass');
  const healthy = await waitHealthy(cluster, () => workload.lastOkMs, HEALTH_TIMEOUT_MS);
  if (!healthy.ok) notes.push(`not healthy at the end: ${healthy.reason}`);
  await workload.stop();
  const converged = await waitConverged(cluster, HEALTH_TIMEOUT_MS);
  if (!converged.converged) notes.push(`nodes did not converge: ${JSON.stringify(converged.appliedSeqs)}`);
  log(`end: healthy ${healthy.ok}, applied ${JSON.stringify(converged.appliedSeqs)}`);
  await Promise.all(followers.map((f) => f.stop()));
  await monitor.stop();
  const finals: NodeFinal[] = [];
  for (const node of cluster.nodes.values()) {
    try {
      const final = await collectFinal(node, KEYS, 120_000);
      if (final.shortView !== undefined) notes.push(final.shortView);
      finals.push(final);
    } catch (error) {
      notes.push(
        `final state of ${node.name} not collected: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return { finals, converged: converged.converged && healthy.ok && finals.length === cluster.nodes.size };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
