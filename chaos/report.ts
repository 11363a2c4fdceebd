/**
 * The report of one run (issue 16 "Report"): per fault type, the faults injected, the
 * ops invoked while each was in force (from injection until the cluster was healthy
 * again) by outcome, failovers and their durations, time to recover; the checker's
 * verdict with a few examples of each anomaly; each node's end state. As JSON (bigints
 * as decimal strings) and as a short table.
 */
import type { Verdict, AnomalyKind } from './checker.js';
import type { Health } from './health.js';
import type { AppendOp, NodeFinal, Promotion } from './history.js';
import { stateHash } from './history.js';
import type { FaultKind } from './nemesis.js';

export interface FaultRecord {
  readonly index: number;
  readonly kind: FaultKind;
  readonly before: Health;
  readonly injectedMs: number;
  readonly detail: string;
  readonly healedMs: number;
  readonly healed: string | undefined;
  readonly after: Health;
  /** What the fault was seen to do once healthy again (e.g. a corruption detected). */
  readonly outcome: string | undefined;
  /** When the fault took the writer: from injection to the first ack at a newer epoch. */
  readonly failoverMs: number | undefined;
  readonly error: string | undefined;
}

export interface RunInfo {
  /** The plan's seed, and the seed of the faults that followed it, if any. */
  readonly seeds: readonly number[];
  readonly clusterId: string;
  readonly plan: readonly FaultKind[];
  readonly startedAt: string;
  readonly durationS: number;
  readonly notes: readonly string[];
}

const EXAMPLES_PER_KIND = 5;

export function buildReport(
  info: RunInfo,
  faults: readonly FaultRecord[],
  appends: readonly AppendOp[],
  verdict: Verdict,
  finals: readonly NodeFinal[],
  promotions: readonly Promotion[],
) {
  const startMs = Date.parse(info.startedAt);
  const byKind = new Map<FaultKind, FaultRecord[]>();
  for (const fault of faults) byKind.set(fault.kind, [...(byKind.get(fault.kind) ?? []), fault]);
  const perFault = Object.fromEntries(
    [...byKind].map(([kind, list]) => {
      const ops = { ok: 0, fail: 0, info: 0 };
      for (const fault of list) {
        const endMs = fault.healedMs + fault.after.waitedMs;
        for (const op of appends)
          if (op.invokeMs >= fault.injectedMs && op.invokeMs <= endMs) ops[op.outcome.type]++;
      }
      const failovers = list.flatMap((f) => (f.failoverMs === undefined ? [] : [f.failoverMs]));
      return [
        kind,
        {
          injected: list.length,
          errors: list.filter((f) => f.error !== undefined).length,
          ops,
          failoversMs: failovers,
          recoverMs: list.map((f) => f.after.waitedMs),
          unhealthyAfter: list.filter((f) => !f.after.ok).length,
        },
      ];
    }),
  );
  const examples: Partial<Record<AnomalyKind, string[]>> = {};
  for (const anomaly of verdict.anomalies) {
    const list = (examples[anomaly.kind] ??= []);
    if (list.length < EXAMPLES_PER_KIND) list.push(anomaly.message);
  }
  return {
    ...info,
    valid: verdict.valid,
    anomalies: { counts: verdict.counts, examples },
    appends: verdict.appends,
    reads: verdict.reads,
    lastSeq: verdict.lastSeq.toString(),
    knownThroughSeq: verdict.knownThroughSeq.toString(),
    perFault,
    faults: faults.map((f) => ({
      ...f,
      injectedMs: f.injectedMs - startMs,
      healedMs: f.healedMs - startMs,
    })),
    promotions: promotions.map((p) => ({ ...p, atMs: p.atMs - startMs })),
    nodes: finals.map((f) => ({
      node: f.node,
      appliedSeq: f.appliedSeq.toString(),
      stateSeq: f.stateSeq.toString(),
      stateHash: stateHash(f.state),
      keys: f.state.size,
      logEntries: f.log.filter((e) => e.kind === 'entry').length,
      divergent: f.divergent,
      degraded: f.degraded,
    })),
  };
}

export type ChaosReport = ReturnType<typeof buildReport>;

export function reportJson(report: ChaosReport): string {
  return JSON.stringify(report, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

/** The short table: one line per fault type, then the verdict. */
export function reportTable(report: ChaosReport): string {
  const ms = (list: readonly number[]) =>
    list.length === 0 ? '-' : `${Math.min(...list)}–${Math.max(...list)}`;
  const rows = Object.entries(report.perFault).map(
    ([kind, f]) =>
      `| ${kind} | ${f.injected}${f.errors > 0 ? ` (${f.errors} failed to inject)` : ''} | ${f.ops.ok} / ${f.ops.fail} / ${f.ops.info} | ${ms(f.failoversMs)} | ${ms(f.recoverMs)}${f.unhealthyAfter > 0 ? ` (${f.unhealthyAfter} not healthy)` : ''} |`,
  );
  const anomalies = Object.entries(report.anomalies.counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`);
  const a = report.appends;
  return [
    `seeds ${report.seeds.join(' then ')}, ${report.durationS} s, ${report.faults.length} faults, log through seq ${report.lastSeq}`,
    '',
    '| fault | injected | ops ok / fail / info | failover ms | recover ms |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `appends: ${a.ok} ok, ${a.fail} fail, ${a.info} info (${a.recovered} recovered, ${a.absent} absent); reads: ${report.reads.ok} ok (${report.reads.valueChecked} values checked), ${report.reads.fail} fail`,
    `anomalies: ${anomalies.length === 0 ? 'none' : anomalies.join(', ')}`,
    ...report.notes.map((note) => `note: ${note}`),
  ].join('\n');
}
