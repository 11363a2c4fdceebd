/**
 * The fault suite's history checker (chaos/checker.ts) on hand-made histories: a clean
 * one passes with every count right, and each anomaly DESIGN.md names is found — and
 * named — in a history built to have exactly that fault. A checker that cannot fail
 * is worth nothing, so every kind has its own failing history here.
 */
import { describe, expect, it } from 'vitest';
import { check, streamAnomalies, type AnomalyKind } from '../../chaos/checker.js';
import type {
  AppendOp,
  CausalRead,
  History,
  LogEntry,
  NodeFinal,
  WatchEvent,
  WatchStream,
} from '../../chaos/history.js';
import { stateHash } from '../../chaos/history.js';

const put = (seq: bigint, key: string, value: string, epoch = 1n): LogEntry => ({
  seq,
  epoch,
  type: 'put',
  key,
  value,
});
const entry = (e: LogEntry): WatchEvent => ({ kind: 'entry', ...e });

/** The log every clean node ends with: three puts, a checkpoint, a put after a failover. */
const LOG: readonly LogEntry[] = [
  put(1n, 'a', 'w1-1'),
  put(2n, 'b', 'w1-2'),
  put(3n, 'a', 'w1-3'),
  { seq: 4n, epoch: 1n, type: 'checkpoint', key: '', value: 'digest' },
  put(5n, 'c', 'w1-4', 2n),
];
const STATE = new Map([
  ['a', 'w1-3'],
  ['b', 'w1-2'],
  ['c', 'w1-4'],
]);

const op = (value: string, key: string, outcome: AppendOp['outcome'], client = 'w1'): AppendOp => ({
  value,
  key,
  client,
  invokeMs: 0,
  completeMs: 1,
  outcome,
});
const ok = (seq: bigint, epoch = 1n) => ({ type: 'ok' as const, seq, epoch });

const APPENDS: readonly AppendOp[] = [
  op('w1-1', 'a', ok(1n)),
  op('w1-2', 'b', ok(2n)),
  op('w2-1', 'a', { type: 'fail', error: 'OPLOG_NOT_PRIMARY' }, 'w2'),
  op('w2-2', 'b', { type: 'info', error: 'timeout', seqs: [] }, 'w2'),
  op('w1-3', 'a', { type: 'info', error: 'connection reset', seqs: [3n] }),
  op('w1-4', 'c', ok(5n, 2n)),
];

const read = (key: string, minSeq: bigint, seq: bigint, value: string | null): CausalRead => ({
  client: 'r1',
  node: 'n2',
  key,
  minSeq,
  invokeMs: 0,
  completeMs: 1,
  outcome: { type: 'ok', seq, value },
});

const READS: readonly CausalRead[] = [
  read('a', 1n, 3n, 'w1-3'),
  read('b', 2n, 2n, 'w1-2'),
  read('c', 4n, 4n, null),
  { ...read('a', 9n, 0n, null), outcome: { type: 'fail', error: 'OPLOG_NOT_APPLIED' } },
];

const WATCHES: readonly WatchStream[] = [
  { node: 'n2', watcher: 'r1', fromSeq: 1n, events: LOG.map(entry) },
  {
    node: 'n3',
    watcher: 'r2',
    fromSeq: 3n,
    events: [...LOG.slice(2).map(entry), { kind: 'cut', reason: 'slow_consumer', resumeFromSeq: 6n }],
  },
];

const final = (node: string, changes: Partial<NodeFinal> = {}): NodeFinal => ({
  node,
  appliedSeq: 5n,
  log: LOG.map(entry),
  state: STATE,
  stateSeq: 5n,
  divergent: false,
  degraded: false,
  ...changes,
});

function clean(): History {
  return {
    appends: APPENDS,
    reads: READS,
    watches: WATCHES,
    promotions: [{ node: 'n2', epoch: 2n, atMs: 10, degraded: false, divergent: false }],
    skipsByNode: new Map(),
    finals: [final('n1'), final('n2'), final('n3')],
  };
}

/** The kinds of anomaly found, each once, sorted. */
function kinds(history: History): AnomalyKind[] {
  return [...new Set(check(history).anomalies.map((a) => a.kind))].sort();
}

describe('a clean history', () => {
  it('passes, with appends and reads counted', () => {
    const verdict = check(clean());
    expect(verdict.anomalies).toEqual([]);
    expect(verdict.valid).toBe(true);
    expect(verdict.appends).toEqual({ ok: 3, fail: 1, info: 2, recovered: 1, absent: 1 });
    expect(verdict.reads).toEqual({ ok: 3, fail: 1, valueChecked: 3 });
    expect(verdict.lastSeq).toBe(5n);
    expect(verdict.knownThroughSeq).toBe(5n);
  });

  it('still passes when a divergent node lacks writes: only non-divergent nodes must hold them', () => {
    const history = clean();
    const short = final('n3', { divergent: true, log: LOG.slice(0, 2).map(entry), appliedSeq: 2n });
    expect(check({ ...history, finals: [final('n1'), final('n2'), short] }).anomalies).toEqual([]);
  });

  it('accepts a skipped line that the node recorded as skipped', () => {
    const events: WatchEvent[] = [
      entry(LOG[0]!),
      { kind: 'skipped', fromSeq: 2n, toSeq: 3n },
      entry(LOG[3]!),
    ];
    expect(streamAnomalies('w', 1n, events, [{ fromSeq: 2n, toSeq: 3n }])).toEqual([]);
  });
});

describe('each anomaly, found and named', () => {
  it('lost-write: an acknowledged append missing from a final node', () => {
    const history = clean();
    const missing = final('n3', { log: LOG.filter((e) => e.seq !== 2n).map(entry) });
    const verdict = check({ ...history, finals: [final('n1'), final('n2'), missing] });
    expect(kinds({ ...history, finals: [final('n1'), final('n2'), missing] })).toContain('lost-write');
    expect(verdict.anomalies.find((a) => a.kind === 'lost-write')?.message).toMatch(
      /w1-2 acknowledged at seq 2 .* node n3 has no entry there/,
    );
  });

  it('lost-write: a final node that never applied as far as an acknowledged seq', () => {
    const history = clean();
    const behind = final('n3', { log: LOG.slice(0, 3).map(entry), appliedSeq: 3n });
    const verdict = check({ ...history, finals: [final('n1'), final('n2'), behind] });
    expect(verdict.anomalies).toEqual([
      { kind: 'lost-write', message: expect.stringMatching(/w1-4 .* node n3 applied only up to 3/) },
    ]);
  });

  it('duplicate: one op at two seqs', () => {
    const log = [...LOG, put(6n, 'a', 'w1-1', 2n)].map(entry);
    const history = { ...clean(), finals: [final('n1', { log, appliedSeq: 6n })] };
    expect(kinds(history)).toContain('duplicate');
    expect(check(history).anomalies.find((a) => a.kind === 'duplicate')?.message).toBe(
      'w1-1 is in the log at seqs 1, 6',
    );
  });

  it('duplicate: an info op present twice is not counted recovered', () => {
    const log = [...LOG, put(6n, 'a', 'w1-3', 2n)].map(entry);
    const verdict = check({ ...clean(), finals: [final('n1', { log, appliedSeq: 6n })] });
    expect(verdict.counts.duplicate).toBe(1);
    expect(verdict.appends.recovered).toBe(0);
  });

  it('inconsistent-seq: two nodes hold different entries at one seq', () => {
    const other = LOG.map((e) => (e.seq === 2n ? put(2n, 'b', 'w2-2') : e)).map(entry);
    const history = { ...clean(), finals: [final('n1'), final('n2', { log: other })] };
    const found = check(history).anomalies.filter((a) => a.kind === 'inconsistent-seq');
    expect(found).toHaveLength(1);
    expect(found[0]!.message).toMatch(/^seq 2 holds put b=w1-2 .* \| put b=w2-2 .*final n2/);
  });

  it('inconsistent-seq: an acknowledged seq that the log gives another value', () => {
    const history = clean();
    const appends = [...history.appends, op('w1-9', 'z', ok(1n))];
    expect(kinds({ ...history, appends })).toContain('inconsistent-seq');
  });

  it('aborted-read: a refused op visible in the log', () => {
    const log = [...LOG, put(6n, 'a', 'w2-1', 2n)].map(entry);
    const history = { ...clean(), finals: [final('n1', { log, appliedSeq: 6n })] };
    const found = check(history).anomalies.filter((a) => a.kind === 'aborted-read');
    expect(found.map((a) => a.message)).toEqual([
      'w2-1 (w2) was refused (OPLOG_NOT_PRIMARY) but is in the log at seq 6',
    ]);
  });

  it("aborted-read: a fenced epoch's record after the new epoch's", () => {
    const log = [...LOG, put(6n, 'b', 'w2-2', 1n)].map(entry);
    const history = { ...clean(), finals: [final('n1', { log, appliedSeq: 6n })] };
    expect(check(history).anomalies.map((a) => a.message)).toContainEqual(
      expect.stringMatching(/^seq 6 has epoch 1 .* after epoch 2 at seq 5/),
    );
  });

  it('poll-skip: a watch that jumps a seq with no skip line', () => {
    const events = LOG.filter((e) => e.seq !== 3n).map(entry);
    const history = { ...clean(), watches: [{ node: 'n2', watcher: 'r1', fromSeq: 1n, events }] };
    expect(kinds(history)).toEqual(['poll-skip']);
  });

  it('poll-skip: a skipped line the node never recorded', () => {
    const events: WatchEvent[] = [
      entry(LOG[0]!),
      { kind: 'skipped', fromSeq: 2n, toSeq: 2n },
      entry(LOG[2]!),
    ];
    const found = streamAnomalies('watch n2/r1', 1n, events, []);
    expect(found).toEqual([
      {
        kind: 'poll-skip',
        message: 'watch n2/r1: skipped 2–2, which the node never recorded as skipped',
      },
    ]);
  });

  it("poll-skip: a node's final log with a hole", () => {
    const log = LOG.filter((e) => e.seq !== 4n).map(entry);
    const history = { ...clean(), finals: [final('n1'), final('n2', { log })] };
    expect(kinds(history)).toEqual(['poll-skip']);
  });

  it('poll-skip: a cut that resumes past the next seq', () => {
    const events: WatchEvent[] = [
      entry(LOG[0]!),
      { kind: 'cut', reason: 'slow_consumer', resumeFromSeq: 3n },
    ];
    expect(streamAnomalies('w', 1n, events, []).map((a) => a.kind)).toEqual(['poll-skip']);
  });

  it('nonmonotonic: a watch that goes back', () => {
    const events = [...LOG.slice(0, 3), LOG[1]!, ...LOG.slice(3)].map(entry);
    const history = { ...clean(), watches: [{ node: 'n2', watcher: 'r1', fromSeq: 1n, events }] };
    expect(check(history).anomalies).toEqual([
      { kind: 'nonmonotonic', message: 'watch n2/r1: entry at seq 2 after seq 3' },
    ]);
  });

  it('unexpected: a value nobody appended', () => {
    const log = [...LOG, put(6n, 'q', 'ghost', 2n)].map(entry);
    const history = { ...clean(), finals: [final('n1', { log, appliedSeq: 6n })] };
    expect(kinds(history)).toEqual(['unexpected']);
  });

  it('stale-read: answered below its minSeq', () => {
    const history = { ...clean(), reads: [read('a', 3n, 2n, 'w1-1')] };
    expect(check(history).anomalies).toEqual([
      { kind: 'stale-read', message: 'r1 read a on n2 with minSeq 3, answered at seq 2' },
    ]);
  });

  it("stale-read: a value that is not the key's value at the answered seq", () => {
    const history = { ...clean(), reads: [read('a', 1n, 3n, 'w1-1')] };
    expect(check(history).anomalies).toEqual([
      { kind: 'stale-read', message: 'r1 read a on n2 at seq 3: got w1-1, the log has w1-3 there' },
    ]);
  });

  it("divergence: a node's state differs from the log's at its seq", () => {
    const state = new Map([...STATE, ['b', 'w2-2']]);
    const history = { ...clean(), finals: [final('n1', { state })] };
    const found = check(history).anomalies;
    expect(found).toHaveLength(1);
    expect(found[0]!.kind).toBe('divergence');
    expect(found[0]!.message).toContain('key b is w2-2 there, w1-2 in the log');
  });

  it('divergence: two nodes differ at one seq', () => {
    const state = new Map([...STATE, ['extra', 'x']]);
    const history = { ...clean(), finals: [final('n1', { state }), final('n2')] };
    expect(check(history).anomalies.map((a) => a.message)).toContainEqual(
      `n1 and n2 differ at seq 5: ${stateHash(state)} vs ${stateHash(STATE)}`,
    );
  });

  it('divergence: a degraded or divergent node promoted', () => {
    const history = {
      ...clean(),
      promotions: [
        { node: 'n2', epoch: 2n, atMs: 10, degraded: true, divergent: false },
        { node: 'n3', epoch: 3n, atMs: 20, degraded: false, divergent: true },
      ],
    };
    expect(check(history).anomalies).toEqual([
      { kind: 'divergence', message: 'n2 promoted to epoch 2 while degraded' },
      { kind: 'divergence', message: 'n3 promoted to epoch 3 while divergent' },
    ]);
  });
});

describe('the state hash', () => {
  it('depends on every key and value, not on insertion order', () => {
    const a = new Map([
      ['x', '1'],
      ['y', '2'],
    ]);
    expect(stateHash(a)).toBe(stateHash(new Map([...a].reverse())));
    expect(stateHash(a)).not.toBe(stateHash(new Map([...a, ['y', '3']])));
    expect(stateHash(a)).not.toBe(stateHash(new Map([['x', '1']])));
    expect(stateHash(new Map([['ab', 'c']]))).not.toBe(stateHash(new Map([['a', 'bc']])));
  });
});
