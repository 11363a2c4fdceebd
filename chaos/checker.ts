/**
 * Judges a whole history (history.ts) after the run, as Jepsen's checkers do, naming
 * each anomaly as DESIGN.md "How a history is judged" does. Pure: no I/O, no clock;
 * the same history always gives the same verdict.
 *
 * - `lost-write`: an acknowledged append missing from (or different in) the final log of
 *   a non-divergent node;
 * - `duplicate`: one op's value at two seqs; `inconsistent-seq`: one seq, two entries;
 * - `aborted-read`: a refused (`fail`) op's value in the log, or an entry whose epoch is
 *   lower than one at a lower seq (a fenced writer's record visible after the fence);
 * - `poll-skip` / `nonmonotonic`: a watch stream (live, or a node's final log) that
 *   jumps past a seq without a `skipped` line the node recorded, or goes back;
 * - `unexpected`: a value in the log that no op appended;
 * - `stale-read`: a causal read answered below its minSeq, or with a value that is not
 *   the key's value in the log at the seq it was answered at;
 * - `divergence`: a non-divergent node whose state differs from the log's at its seq or
 *   from another node's at the same seq; a degraded or divergent node promoted.
 *
 * `info` appends are counted `recovered` (in the log exactly once) or `absent`.
 */
import type { CausalRead, History, NodeFinal, SeqRange, WatchEvent } from './history.js';
import { stateHash } from './history.js';
import { LogView } from './log-view.js';

export const ANOMALY_KINDS = [
  'lost-write',
  'duplicate',
  'inconsistent-seq',
  'aborted-read',
  'poll-skip',
  'nonmonotonic',
  'unexpected',
  'stale-read',
  'divergence',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface Anomaly {
  readonly kind: AnomalyKind;
  readonly message: string;
}

export interface Verdict {
  readonly valid: boolean;
  readonly anomalies: readonly Anomaly[];
  readonly counts: Readonly<Record<AnomalyKind, number>>;
  readonly appends: {
    readonly ok: number;
    readonly fail: number;
    readonly info: number;
    /** `info` appends found in the log exactly once. */
    readonly recovered: number;
    /** `info` appends found nowhere. */
    readonly absent: number;
  };
  readonly reads: { readonly ok: number; readonly fail: number; readonly valueChecked: number };
  /** The highest seq seen anywhere, and how far the log is known without a hole. */
  readonly lastSeq: bigint;
  readonly knownThroughSeq: bigint;
}

export function check(history: History): Verdict {
  const view = LogView.of(history);
  const anomalies: Anomaly[] = [
    ...inconsistentSeqs(view),
    ...duplicates(view),
    ...unexpected(history, view),
    ...aborted(history, view),
    ...lostWrites(history),
    ...history.watches.flatMap((s) =>
      streamAnomalies(`watch ${s.node}/${s.watcher}`, s.fromSeq, s.events, skips(history, s.node)),
    ),
    ...history.finals.flatMap((f) =>
      streamAnomalies(`final log of ${f.node}`, 1n, f.log, skips(history, f.node)),
    ),
    ...divergence(history, view),
  ];
  const reads = staleReads(history.reads, view);
  anomalies.push(...reads.anomalies);
  const counts = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])) as Record<AnomalyKind, number>;
  for (const anomaly of anomalies) counts[anomaly.kind]++;
  return {
    valid: anomalies.length === 0,
    anomalies,
    counts,
    appends: appendCounts(history, view),
    reads: {
      ok: history.reads.filter((r) => r.outcome.type === 'ok').length,
      fail: history.reads.filter((r) => r.outcome.type === 'fail').length,
      valueChecked: reads.valueChecked,
    },
    lastSeq: view.lastSeq,
    knownThroughSeq: view.replay(() => undefined),
  };
}

const skips = (history: History, node: string) => history.skipsByNode.get(node) ?? [];

function inconsistentSeqs(view: LogView): Anomaly[] {
  const out: Anomaly[] = [];
  for (const [seq, seen] of view.bySeq) {
    if (seen.size < 2) continue;
    const which = [...seen.values()].map(
      (o) =>
        `${o.entry.type} ${o.entry.key}=${o.entry.value} (epoch ${o.entry.epoch}) by ${o.sources.join(', ')}`,
    );
    out.push({ kind: 'inconsistent-seq', message: `seq ${seq} holds ${which.join(' | ')}` });
  }
  return out;
}

function duplicates(view: LogView): Anomaly[] {
  const out: Anomaly[] = [];
  for (const [value, seqs] of view.seqsByValue)
    if (seqs.size > 1)
      out.push({ kind: 'duplicate', message: `${value} is in the log at seqs ${[...seqs].join(', ')}` });
  return out;
}

function unexpected(history: History, view: LogView): Anomaly[] {
  const appended = new Set(history.appends.map((op) => op.value));
  return [...view.seqsByValue]
    .filter(([value]) => !appended.has(value))
    .map(([value, seqs]) => ({
      kind: 'unexpected' as const,
      message: `${value} is in the log at seq ${[...seqs].join(', ')} but no op appended it`,
    }));
}

function aborted(history: History, view: LogView): Anomaly[] {
  const out: Anomaly[] = [];
  for (const op of history.appends) {
    if (op.outcome.type !== 'fail') continue;
    const seqs = view.seqsByValue.get(op.value);
    if (seqs !== undefined)
      out.push({
        kind: 'aborted-read',
        message: `${op.value} (${op.client}) was refused (${op.outcome.error}) but is in the log at seq ${[...seqs].join(', ')}`,
      });
  }
  // Epochs never go down along seq: a lower epoch past a higher one is a fenced writer's record.
  let highest: { seq: bigint; epoch: bigint } | undefined;
  for (const seq of [...view.bySeq.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const { entry, sources } of view.bySeq.get(seq)!.values()) {
      if (highest !== undefined && entry.epoch < highest.epoch)
        out.push({
          kind: 'aborted-read',
          message: `seq ${seq} has epoch ${entry.epoch} (${sources.join(', ')}) after epoch ${highest.epoch} at seq ${highest.seq}: a fenced epoch's record is visible`,
        });
    }
    for (const { entry } of view.bySeq.get(seq)!.values())
      if (highest === undefined || entry.epoch > highest.epoch) highest = { seq, epoch: entry.epoch };
  }
  return out;
}

/** Every `ok` append must be at its seq, with its value, in every non-divergent node's final log. */
function lostWrites(history: History): Anomaly[] {
  const out: Anomaly[] = [];
  for (const final of history.finals) {
    if (final.divergent) continue;
    const bySeq = new Map<bigint, string>();
    for (const event of final.log) if (event.kind === 'entry') bySeq.set(event.seq, event.value);
    for (const op of history.appends) {
      if (op.outcome.type !== 'ok') continue;
      const found = bySeq.get(op.outcome.seq);
      if (found === op.value) continue;
      const where =
        found !== undefined
          ? `holds ${found} there`
          : final.appliedSeq < op.outcome.seq
            ? `applied only up to ${final.appliedSeq}`
            : 'has no entry there';
      out.push({
        kind: 'lost-write',
        message: `${op.value} acknowledged at seq ${op.outcome.seq} to ${op.client}: node ${final.node} ${where}`,
      });
    }
  }
  return out;
}

/**
 * One stream of applied seqs from `fromSeq`: each entry must be the next seq; a
 * `skipped` line must start at the next seq and lie within a skip the node recorded;
 * a cut must name the next seq to resume from.
 */
export function streamAnomalies(
  name: string,
  fromSeq: bigint,
  events: readonly WatchEvent[],
  recorded: readonly SeqRange[],
): Anomaly[] {
  const out: Anomaly[] = [];
  let next = fromSeq;
  const step = (seq: bigint, what: string) => {
    if (seq < next)
      out.push({ kind: 'nonmonotonic', message: `${name}: ${what} at seq ${seq} after seq ${next - 1n}` });
    else if (seq > next)
      out.push({
        kind: 'poll-skip',
        message: `${name}: ${what} at seq ${seq} where seq ${next} was next (no skip recorded for ${next}–${seq - 1n})`,
      });
  };
  for (const event of events) {
    if (event.kind === 'entry') {
      step(event.seq, 'entry');
      if (event.seq >= next) next = event.seq + 1n;
    } else if (event.kind === 'skipped') {
      step(event.fromSeq, 'skipped line');
      if (!recorded.some((r) => r.fromSeq <= event.fromSeq && event.toSeq <= r.toSeq))
        out.push({
          kind: 'poll-skip',
          message: `${name}: skipped ${event.fromSeq}–${event.toSeq}, which the node never recorded as skipped`,
        });
      if (event.toSeq >= next) next = event.toSeq + 1n;
    } else {
      step(event.resumeFromSeq, `cut (${event.reason}) resuming`);
    }
  }
  return out;
}

function staleReads(
  reads: readonly CausalRead[],
  view: LogView,
): { anomalies: Anomaly[]; valueChecked: number } {
  const anomalies: Anomaly[] = [];
  const bySeq = new Map<bigint, CausalRead[]>();
  for (const read of reads) {
    if (read.outcome.type !== 'ok') continue;
    if (read.outcome.seq < read.minSeq)
      anomalies.push({
        kind: 'stale-read',
        message: `${read.client} read ${read.key} on ${read.node} with minSeq ${read.minSeq}, answered at seq ${read.outcome.seq}`,
      });
    const list = bySeq.get(read.outcome.seq) ?? [];
    list.push(read);
    bySeq.set(read.outcome.seq, list);
  }
  let valueChecked = 0;
  view.replay((seq, state) => {
    for (const read of bySeq.get(seq) ?? []) {
      if (read.outcome.type !== 'ok') continue;
      valueChecked++;
      const expected = state.get(read.key) ?? null;
      if (read.outcome.value !== expected)
        anomalies.push({
          kind: 'stale-read',
          message: `${read.client} read ${read.key} on ${read.node} at seq ${seq}: got ${read.outcome.value}, the log has ${expected} there`,
        });
    }
  });
  return { anomalies, valueChecked };
}

function divergence(history: History, view: LogView): Anomaly[] {
  const out: Anomaly[] = [];
  for (const p of history.promotions)
    if (p.degraded || p.divergent)
      out.push({
        kind: 'divergence',
        message: `${p.node} promoted to epoch ${p.epoch} while ${[p.degraded ? 'degraded' : '', p.divergent ? 'divergent' : ''].filter(Boolean).join(' and ')}`,
      });
  const healthy = history.finals.filter((f) => !f.divergent);
  const expected = expectedStates(view, new Set(healthy.map((f) => f.stateSeq)));
  for (const final of healthy) {
    const want = expected.get(final.stateSeq);
    const got = stateHash(final.state);
    if (want !== undefined && want !== got)
      out.push({
        kind: 'divergence',
        message: `${final.node}'s state at seq ${final.stateSeq} hashes to ${got}, the log's to ${want}${firstDifference(final, view)}`,
      });
  }
  for (const [i, a] of healthy.entries())
    for (const b of healthy.slice(i + 1))
      if (a.stateSeq === b.stateSeq && stateHash(a.state) !== stateHash(b.state))
        out.push({
          kind: 'divergence',
          message: `${a.node} and ${b.node} differ at seq ${a.stateSeq}: ${stateHash(a.state)} vs ${stateHash(b.state)}`,
        });
  return out;
}

/** The log's state hash at each of `seqs` (those the log is known through). */
function expectedStates(view: LogView, seqs: ReadonlySet<bigint>): Map<bigint, string> {
  const out = new Map<bigint, string>();
  if (seqs.has(0n)) out.set(0n, stateHash(new Map()));
  view.replay((seq, state) => {
    if (seqs.has(seq)) out.set(seq, stateHash(state));
  });
  return out;
}

/** ": first differing key k (node v1, log v2)", for the message. */
function firstDifference(final: NodeFinal, view: LogView): string {
  let found = '';
  view.replay((seq, state) => {
    if (seq !== final.stateSeq) return;
    for (const key of new Set([...state.keys(), ...final.state.keys()]))
      if (state.get(key) !== final.state.get(key)) {
        found ||= `: key ${key} is ${final.state.get(key) ?? 'absent'} there, ${state.get(key) ?? 'absent'} in the log`;
      }
  });
  return found;
}

function appendCounts(history: History, view: LogView): Verdict['appends'] {
  let recovered = 0;
  let absent = 0;
  for (const op of history.appends) {
    if (op.outcome.type !== 'info') continue;
    const seqs = view.seqsByValue.get(op.value)?.size ?? 0;
    if (seqs === 1) recovered++;
    else if (seqs === 0) absent++;
  }
  const count = (type: string) => history.appends.filter((op) => op.outcome.type === type).length;
  return { ok: count('ok'), fail: count('fail'), info: count('info'), recovered, absent };
}
