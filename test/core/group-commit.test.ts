/**
 * Proves the group-commit planner's contract: immediate flush when idle, accumulation
 * by count/bytes/linger while busy, bounded pipeline and queue, acks strictly in seq
 * order, identical retries, and a terminal fence — by examples and by a random model.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GroupCommitPlanner, type PlannerLimits, type PlannerOutput } from '../../src/core/group-commit.js';
import { epoch, seq, type Op } from '../../src/core/types.js';

const op: Op = { type: 'put', key: 'k', value: new Uint8Array(10) };
const limits: PlannerLimits = {
  batchEntriesMax: 4,
  batchBytesMax: 1000,
  lingerMs: 5,
  pipelineDepth: 2,
  runAheadBytesMax: 0,
  queueEntriesMax: 10,
  queueBytesMax: 10_000,
};

function planner(over: Partial<PlannerLimits> = {}) {
  return new GroupCommitPlanner({ ...limits, ...over }, epoch(3n), seq(11n));
}

const seqsOf = (out: PlannerOutput) => out.write.map((b) => b.entries.map((e) => Number(e.seq)));

describe('group-commit planner', () => {
  it('assigns contiguous seqs from the head and flushes at once when idle', () => {
    const p = planner();
    expect(p.offer(op, 100, 0)).toEqual({ accepted: true, seq: 11n });
    const out = p.tick(0);
    expect(seqsOf(out)).toEqual([[11]]);
    expect(out.write[0]!.entries[0]!.epoch).toBe(3n);
    expect(out.write[0]!.entries[0]!.ts).toBe(0);
  });

  it('accumulates while busy until linger, then cuts up to the pipeline depth', () => {
    const p = planner({ pipelineDepth: 1 });
    p.offer(op, 100, 0);
    p.tick(0);
    p.offer(op, 100, 1);
    p.offer(op, 100, 2);
    expect(p.tick(3).write).toEqual([]);
    expect(p.tick(3).nextTickAtMs).toBe(6);
    expect(p.tick(6).write).toEqual([]); // depth 1: still busy
    const done = p.onWritten(1, 6);
    expect(done.ack).toEqual([{ fromSeq: 11n, toSeq: 11n }]);
    expect(seqsOf(done)).toEqual([[12, 13]]);
  });

  it('cuts a full batch by count or by bytes without waiting for linger', () => {
    const byCount = planner();
    byCount.offer(op, 10, 0);
    byCount.tick(0);
    for (let i = 0; i < 4; i++) byCount.offer(op, 10, 0);
    expect(seqsOf(byCount.tick(0))).toEqual([[12, 13, 14, 15]]);
    const byBytes = planner();
    byBytes.offer(op, 10, 0);
    byBytes.tick(0);
    byBytes.offer(op, 600, 0);
    byBytes.offer(op, 600, 0);
    expect(seqsOf(byBytes.tick(0))).toEqual([[12]]);
  });

  it('releases acks only in seq order, whatever order writes complete in', () => {
    const p = planner({ pipelineDepth: 3, lingerMs: 0 });
    p.offer(op, 10, 0);
    p.tick(0);
    p.offer(op, 10, 0);
    p.tick(0);
    p.offer(op, 10, 0);
    expect(p.tick(0).write.length).toBe(1);
    expect(p.inFlightBatches).toBe(3);
    expect(p.onWritten(3, 1).ack).toEqual([]);
    expect(p.onWritten(2, 1).ack).toEqual([]);
    expect(p.onWritten(1, 1).ack).toEqual([
      { fromSeq: 11n, toSeq: 11n },
      { fromSeq: 12n, toSeq: 12n },
      { fromSeq: 13n, toSeq: 13n },
    ]);
  });

  it('run-ahead: a batch one store holds frees its place for the next; acks wait for every store; bytes bound it', () => {
    const p = planner({ pipelineDepth: 1, runAheadBytesMax: 250, lingerMs: 0, queueEntriesMax: 100 });
    p.offer(op, 100, 0);
    expect(seqsOf(p.tick(0))).toEqual([[11]]);
    p.offer(op, 100, 0);
    expect(p.tick(0).write).toEqual([]); // depth 1: batch 1 is at no store yet
    const lead = p.onLeadWritten(1, 0);
    expect(seqsOf(lead)).toEqual([[12]]); // the leading store has room again
    expect(lead.ack).toEqual([]); // not acknowledged until every store holds it
    p.offer(op, 100, 0);
    expect(seqsOf(p.onLeadWritten(2, 0))).toEqual([[13]]); // 200 bytes in flight < 250
    p.offer(op, 100, 0);
    expect(p.onLeadWritten(3, 0).write).toEqual([]); // 300 bytes: the slow store is too far behind
    expect(p.inFlightBatches).toBe(3);
    const first = p.onWritten(1, 0);
    expect(first.ack).toEqual([{ fromSeq: 11n, toSeq: 11n }]);
    expect(seqsOf(first)).toEqual([[14]]);
    // In either order: once every store holds a batch, a late lead notice changes nothing.
    expect(p.onWritten(2, 0).ack).toEqual([{ fromSeq: 12n, toSeq: 12n }]);
    expect(p.onLeadWritten(2, 0)).toMatchObject({ write: [], ack: [] });
  });

  it('without run-ahead (runAheadBytesMax 0) the depth counts every batch not yet in every store', () => {
    const p = planner({ pipelineDepth: 1, lingerMs: 0 });
    p.offer(op, 100, 0);
    p.tick(0);
    p.offer(op, 100, 0);
    expect(p.onLeadWritten(1, 0).write).toEqual([]);
    expect(seqsOf(p.onWritten(1, 0))).toEqual([[12]]);
  });

  it('refuses with overloaded when the queue is full, without using a seq', () => {
    const p = planner({ queueEntriesMax: 2 });
    p.offer(op, 10, 0);
    p.offer(op, 10, 0);
    expect(p.offer(op, 10, 0)).toEqual({ accepted: false, reason: 'overloaded' });
    expect(p.nextSeq).toBe(13n);
    const big = planner({ queueBytesMax: 50 });
    expect(big.offer(op, 500, 0).accepted).toBe(true); // alone in an empty queue
    expect(big.offer(op, 1, 0)).toEqual({ accepted: false, reason: 'overloaded' });
  });

  it('re-emits the identical batch on a retryable failure', () => {
    const p = planner();
    p.offer(op, 10, 0);
    const first = p.tick(0).write[0]!;
    expect(p.onRetryableFailure(first.batchId).write[0]).toBe(first);
  });

  it('fails everything unacknowledged on fence and never acks again', () => {
    const p = planner({ lingerMs: 100 });
    p.offer(op, 10, 0);
    p.tick(0);
    p.offer(op, 10, 1);
    const out = p.onFenced();
    expect(out.fail).toEqual([{ fromSeq: 11n, toSeq: 12n }]);
    expect(p.onWritten(1, 2).ack).toEqual([]);
    expect(p.offer(op, 10, 3)).toEqual({ accepted: false, reason: 'fenced' });
    expect(p.tick(1000).write).toEqual([]);
  });
});

type Action =
  | { kind: 'offer'; count: number; bytes: number }
  | { kind: 'tick'; advanceMs: number }
  | { kind: 'written'; pick: number }
  | { kind: 'lead'; pick: number }
  | { kind: 'retry'; pick: number }
  | { kind: 'fence' };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('offer' as const),
      count: fc.integer({ min: 1, max: 6 }),
      bytes: fc.integer({ min: 1, max: 400 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), advanceMs: fc.integer({ min: 0, max: 8 }) }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('written' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('lead' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retry' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'fence' as const }) },
);

describe('group-commit planner model', () => {
  it('keeps its invariants under any interleaving', () => {
    fc.assert(
      fc.property(
        fc.record({
          depth: fc.integer({ min: 1, max: 4 }),
          entriesMax: fc.integer({ min: 1, max: 8 }),
          runAhead: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
        }),
        fc.array(actionArb, { maxLength: 120 }),
        ({ depth, entriesMax, runAhead }, actions) => {
          const p = new GroupCommitPlanner(
            {
              ...limits,
              pipelineDepth: depth,
              batchEntriesMax: entriesMax,
              queueEntriesMax: 30,
              runAheadBytesMax: runAhead,
            },
            epoch(1n),
            seq(1n),
          );
          /** Batches cut and not acknowledged, in cut order: bytes, and whether a store holds them. */
          const open = new Map<number, { bytes: number; lead: boolean; last: bigint }>();
          let now = 0;
          const assigned: bigint[] = [];
          const acked: bigint[] = [];
          const failed: bigint[] = [];
          const inFlight = new Map<number, bigint[]>();
          const check = (out: PlannerOutput) => {
            // The acks were released before the batches they made room for were cut.
            for (const r of out.ack) {
              for (let s = r.fromSeq; s <= r.toSeq; s++) acked.push(s);
              for (const [id, o] of open) if (o.last === r.toSeq) open.delete(id);
            }
            for (const b of out.write) {
              if (!inFlight.has(b.batchId) && !open.has(b.batchId)) {
                // A new batch: cut only with room — depth at the leading store, and
                // past the depth only while the bytes in flight are under the bound.
                const leading = [...open.values()].filter((o) => !o.lead).length;
                const bytes = [...open.values()].reduce((sum, o) => sum + o.bytes, 0);
                expect(open.size < depth || (leading < depth && bytes < runAhead)).toBe(true);
                open.set(b.batchId, { bytes: b.bytes, lead: false, last: b.entries.at(-1)!.seq });
              }
              inFlight.set(
                b.batchId,
                b.entries.map((e) => e.seq),
              );
            }
            for (const r of out.fail) for (let s = r.fromSeq; s <= r.toSeq; s++) failed.push(s);
            if (runAhead === 0) expect(p.inFlightBatches).toBeLessThanOrEqual(depth);
            for (const b of out.write) expect(b.entries.length).toBeLessThanOrEqual(entriesMax);
          };
          for (const action of actions) {
            if (action.kind === 'offer') {
              for (let i = 0; i < action.count; i++) {
                const r = p.offer(op, action.bytes, now);
                if (r.accepted) assigned.push(r.seq);
              }
              check(p.tick(now));
            } else if (action.kind === 'tick') {
              now += action.advanceMs;
              check(p.tick(now));
            } else if (action.kind === 'fence') {
              check(p.onFenced());
              inFlight.clear();
              open.clear();
            } else if (action.kind === 'lead') {
              const ids = [...inFlight.keys()];
              if (ids.length === 0) continue;
              const id = ids[action.pick % ids.length]!;
              const o = open.get(id);
              if (o !== undefined) o.lead = true;
              check(p.onLeadWritten(id, now));
            } else {
              const ids = [...inFlight.keys()];
              if (ids.length === 0) continue;
              const id = ids[action.pick % ids.length]!;
              if (action.kind === 'retry') {
                const out = p.onRetryableFailure(id);
                if (p.state === 'running')
                  expect(out.write[0]!.entries.map((e) => e.seq)).toEqual(inFlight.get(id));
                check(out);
              } else {
                inFlight.delete(id);
                const o = open.get(id);
                if (o !== undefined) o.lead = true;
                check(p.onWritten(id, now));
              }
            }
          }
          // No seq assigned twice or skipped; acks strictly in seq order from the start.
          assigned.forEach((s, i) => expect(s).toBe(BigInt(i + 1)));
          acked.forEach((s, i) => expect(s).toBe(BigInt(i + 1)));
          // A fenced planner never acks again: nothing acked is also failed.
          for (const s of failed) expect(acked.includes(s)).toBe(false);
          if (p.state === 'fenced') expect(acked.length + failed.length).toBe(assigned.length);
        },
      ),
      { numRuns: 500 },
    );
  });
});
