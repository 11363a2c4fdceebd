/**
 * Core throughput: the applier fed in-order entries, and fed a stream with 1% of the
 * entries reordered (swapped a few places later) and 0.1% duplicated; and the group
 * commit planner's ops/s (offer → cut → written → ack) at pipeline depth 1 and 4.
 * Baseline in the same run: a bare loop that walks the same entries and advances a
 * counter when a seq is the expected one (what "apply in order" costs with no bounds,
 * gaps or epochs). Run: npm run bench:core
 */
import { Applier, type ApplierConfig } from '../src/core/applier.js';
import { GroupCommitPlanner } from '../src/core/group-commit.js';
import type { Entry, Op } from '../src/core/types.js';
import { epoch, seq } from '../src/core/types.js';
import { Prng } from '../test/helpers/prng.js';
import { fmt, machine, measure, table } from './harness.js';

const STREAM = 200_000;
const CHUNK = 256;
const value = new Uint8Array(512);

function streamOf(count: number): Entry[] {
  const out: Entry[] = [];
  for (let i = 1; i <= count; i++)
    out.push({
      seq: seq(BigInt(i)),
      epoch: epoch(1n),
      ts: 0,
      type: 'put',
      key: `k${i}`,
      value,
      checksum: 0n,
    });
  return out;
}

/** 1% of entries move 1..8 places later; 0.1% are delivered twice. */
function disorder(entries: readonly Entry[], rng: Prng): Entry[] {
  const out = [...entries];
  for (let i = 0; i < out.length - 8; i++) {
    if (rng.next() < 0.01) {
      const j = i + 1 + Math.floor(rng.next() * 8);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
  }
  const withDups: Entry[] = [];
  for (const e of out) {
    withDups.push(e);
    if (rng.next() < 0.001) withDups.push(e);
  }
  return withDups;
}

const config: ApplierConfig = {
  pendingEntriesMax: 100_000,
  pendingBytesMax: 256 * 1024 * 1024,
  gapRequestDelayMs: 50,
  skipTimeoutMs: 5_000,
  fetchBackoffMs: 50,
  fetchBackoffMaxMs: 1_000,
  skipPolicy: 'skip',
  fetchRangesPerTickMax: 16,
  skippedRangesMax: 64,
};

function runApplier(delivery: readonly Entry[]): number {
  const applier = new Applier(config, { appliedSeq: seq(0n), appliedEpoch: epoch(1n) });
  let applied = 0;
  for (let i = 0; i < delivery.length; i += CHUNK) {
    applied += applier.receive(delivery.slice(i, i + CHUNK), i).apply.length;
    applied += applier.tick(i).apply.length;
  }
  if (applied !== STREAM) throw new Error(`applied ${applied}, expected ${STREAM}`);
  return applied;
}

function runBaseline(delivery: readonly Entry[]): number {
  let expected = 1n;
  for (const e of delivery) if (e.seq === expected) expected++;
  return Number(expected - 1n);
}

const inOrder = streamOf(STREAM);
const disordered = disorder(inOrder, new Prng(42));

const rate = (m: { iterations: number; seconds: number }, perIteration: number) =>
  (m.iterations * perIteration) / m.seconds;

const baselineRate = rate(
  measure(() => void runBaseline(inOrder)),
  STREAM,
);
const inOrderRate = rate(
  measure(() => void runApplier(inOrder)),
  STREAM,
);
const disorderRate = rate(
  measure(() => void runApplier(disordered)),
  STREAM,
);

/** Offers `count` ops and completes every write at once, the way a fast store would. */
function runPlanner(count: number, pipelineDepth: number): number {
  const planner = new GroupCommitPlanner(
    {
      batchEntriesMax: 1024,
      batchBytesMax: 900 * 1024,
      lingerMs: 2,
      pipelineDepth,
      runAheadBytesMax: 0,
      queueEntriesMax: 100_000,
      queueBytesMax: 512 * 1024 * 1024,
    },
    epoch(1n),
    seq(1n),
  );
  const op: Op = { type: 'put', key: 'k', value };
  let acked = 0n;
  let now = 0;
  const pending: number[] = [];
  for (let i = 0; i < count; i++) {
    const r = planner.offer(op, 560, now);
    if (!r.accepted) throw new Error('planner refused an op');
    if (i % 64 === 63) {
      now++;
      for (const b of planner.tick(now).write) pending.push(b.batchId);
      while (pending.length > 0) {
        const out = planner.onWritten(pending.shift()!, now);
        for (const b of out.write) pending.push(b.batchId);
        for (const a of out.ack) acked += a.toSeq - a.fromSeq + 1n;
      }
    }
  }
  // Ops after the last multiple of 64 may still wait for their linger; all others acked.
  if (acked < BigInt(count - 64)) throw new Error(`only ${acked} of ${count} ops acknowledged`);
  return Number(acked);
}

const PLANNER_OPS = 100_000;
const plannerRows = [1, 4].map((depth) => {
  const m = measure(() => void runPlanner(PLANNER_OPS, depth));
  return [`planner, pipeline depth ${depth}`, fmt(rate(m, PLANNER_OPS)), 'ops/s'];
});

console.log(`core bench · ${machine()}\n`);
console.log(
  table(
    ['case', 'rate', 'unit', 'ratio to bare loop'],
    [
      ['baseline: bare in-order loop', fmt(baselineRate), 'entries/s', '1.00'],
      ['applier, in order', fmt(inOrderRate), 'entries/s', fmt(inOrderRate / baselineRate, 3)],
      [
        'applier, 1% reordered + 0.1% duplicated',
        fmt(disorderRate),
        'entries/s',
        fmt(disorderRate / baselineRate, 3),
      ],
      ...plannerRows.map((r) => [...r, '']),
    ],
  ),
);
