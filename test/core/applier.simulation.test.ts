/**
 * A seeded simulation of the standby read path: a stream of entries delivered
 * reordered, duplicated, dropped, corrupted (caught by the real entry checksum before
 * the applier) and, for some, never delivered at all, on a skewed fake clock, with
 * fetches answered late. After every step: applied seqs strictly increase, nothing is
 * applied twice, every jump is a recorded skip, pending stays in bounds, no more holes
 * are counted closed (filled or skipped) than opened, and with policy `halt` nothing is
 * ever skipped. At the end every seq is applied or skipped.
 * OPLOG_SIM_SEEDS sets how many seeds (CI: the default); a failure prints its seed.
 */
import { describe, expect, it } from 'vitest';
import { Applier, type ApplierConfig, type ApplierOutput, type SkipPolicy } from '../../src/core/applier.js';
import { entryChecksum } from '../../src/core/entry-codec.js';
import type { Entry, SeqRange } from '../../src/core/types.js';
import { epoch, seq } from '../../src/core/types.js';
import { Prng } from '../helpers/prng.js';

const SEEDS = Number(process.env['OPLOG_SIM_SEEDS'] ?? 3000);
/** OPLOG_SIM_SEED=n replays one printed seed, with a summary, under both policies. */
const ONE_SEED =
  process.env['OPLOG_SIM_SEED'] === undefined ? undefined : Number(process.env['OPLOG_SIM_SEED']);
const seeds = (count: number, stride: number) =>
  ONE_SEED !== undefined ? [ONE_SEED] : Array.from({ length: count }, (_, i) => (i + 1) * stride);

interface Delivery {
  readonly atMs: number;
  readonly entry: Entry;
}

const entryCache = new Map<number, Entry>();

function makeEntry(s: number): Entry {
  const cached = entryCache.get(s);
  if (cached !== undefined) return cached;
  const made = buildEntry(s);
  entryCache.set(s, made);
  return made;
}

function buildEntry(s: number): Entry {
  const fields = {
    seq: seq(BigInt(s)),
    epoch: epoch(1n),
    ts: s,
    type: 'put',
    key: `k${s}`,
    value: Uint8Array.of(s & 0xff, 7),
  };
  return { ...fields, checksum: entryChecksum(fields) };
}

function corrupt(entry: Entry): Entry {
  return { ...entry, value: Uint8Array.of(entry.value[0]! ^ 0x10, 7) };
}

/** What the shell does before the applier: drop anything whose checksum fails. */
function verified(entries: readonly Entry[]): Entry[] {
  return entries.filter((e) => entryChecksum(e) === e.checksum);
}

export function simulate(seed: number, policy: SkipPolicy): void {
  const rng = new Prng(seed);
  const total = rng.int(20, 160);
  const lost = new Set<number>();
  for (let s = 1; s <= total; s++) if (rng.chance(0.02)) lost.add(s);
  const config: ApplierConfig = {
    pendingEntriesMax: rng.int(4, 64),
    pendingBytesMax: rng.int(400, 10_000),
    gapRequestDelayMs: rng.int(10, 100),
    skipTimeoutMs: rng.int(200, 800),
    fetchBackoffMs: 20,
    fetchBackoffMaxMs: 200,
    skipPolicy: policy,
    fetchRangesPerTickMax: 8,
    skippedRangesMax: 1000,
  };
  const applier = new Applier(config, { appliedSeq: seq(0n), appliedEpoch: epoch(0n) });
  const queue: Delivery[] = [];
  let now = 0;
  for (let s = 1; s <= total; s++) {
    if (lost.has(s) || rng.chance(0.05)) continue; // lost for good, or dropped by the stream
    const copies = rng.chance(0.05) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const entry = rng.chance(0.02) ? corrupt(makeEntry(s)) : makeEntry(s);
      queue.push({ atMs: s * 3 + (rng.chance(0.1) ? rng.int(0, 200) : 0), entry });
    }
  }
  const applied: bigint[] = [];
  const skipped: SeqRange[] = [];
  let headObserved = false;
  // After endMs the store stops answering fetches, so the run ends once the queue drains.
  const endMs = total * 3 + 400 + config.skipTimeoutMs * 4;
  const check = (out: ApplierOutput) => {
    skipped.push(...out.skipped);
    for (const e of out.apply) {
      const last = applied[applied.length - 1] ?? 0n;
      if (e.seq !== last + 1n) {
        const covered =
          skipped.some((r) => r.fromSeq === last + 1n && r.toSeq === e.seq - 1n) ||
          skippedBetween(skipped, last, e.seq);
        if (!covered) throw new Error(`seed ${seed}: applied ${e.seq} after ${last} without a recorded skip`);
      }
      if (e.seq <= last) throw new Error(`seed ${seed}: applied ${e.seq} after ${last}`);
      applied.push(e.seq);
    }
    if (policy === 'halt' && out.skipped.length > 0)
      throw new Error(`seed ${seed}: policy halt skipped ${out.skipped.length} ranges`);
    if (applier.pendingEntries > config.pendingEntriesMax)
      throw new Error(`seed ${seed}: pending ${applier.pendingEntries} entries`);
    if (applier.pendingBytes > config.pendingBytesMax)
      throw new Error(`seed ${seed}: pending ${applier.pendingBytes} bytes`);
    checkGapCounts(seed, applier, 0);
    for (const r of now >= endMs ? [] : out.fetch) {
      // A store answers a fetch like a read: the range in order, at one time.
      const atMs = now + rng.int(1, 60);
      for (let s = r.fromSeq; s <= r.toSeq && s <= BigInt(total); s++) {
        if (lost.has(Number(s))) continue;
        queue.push({ atMs, entry: rng.chance(0.02) ? corrupt(makeEntry(Number(s))) : makeEntry(Number(s)) });
      }
    }
  };
  for (let step = 0; step < 200_000 && (now < endMs || queue.length > 0); step++) {
    now += rng.int(0, 15);
    const skewedNow = rng.chance(0.1) ? now - rng.int(0, 30) : now;
    if (!headObserved && now > total * 3) {
      check(applier.observeHead(seq(BigInt(total)), skewedNow));
      headObserved = true;
    }
    queue.sort((a, b) => a.atMs - b.atMs);
    const due: Entry[] = [];
    const burst = rng.int(1, 64);
    while (queue.length > 0 && queue[0]!.atMs <= now && due.length < burst) due.push(queue.shift()!.entry);
    if (due.length > 0) check(applier.receive(verified(due), skewedNow));
    check(applier.tick(skewedNow));
  }
  if (queue.length > 0)
    throw new Error(`seed ${seed}: simulation did not drain (${queue.length} deliveries left)`);
  if (ONE_SEED !== undefined)
    console.log({
      total,
      lost: [...lost],
      applied: applied.length,
      gaps: applier.gaps,
      pending: applier.pendingEntries,
      halted: applier.halted,
      now,
      endMs,
      counters: applier.counters,
      queue: queue.length,
    });
  checkGapCounts(seed, applier, applier.gaps.length);
  const appliedSet = new Set(applied.map(Number));
  expect(appliedSet.size, `seed ${seed}: applied a seq twice`).toBe(applied.length);
  if (policy === 'skip') {
    for (let s = 1; s <= total; s++) {
      const isSkipped = skipped.some((r) => BigInt(s) >= r.fromSeq && BigInt(s) <= r.toSeq);
      if (appliedSet.has(s) === isSkipped)
        throw new Error(`seed ${seed}: seq ${s} applied=${appliedSet.has(s)} skipped=${isSkipped}`);
      if (lost.has(s) && !isSkipped) throw new Error(`seed ${seed}: lost seq ${s} was not skipped`);
    }
    expect(applier.divergent).toBe(skipped.length > 0);
  } else {
    const firstLost = Math.min(...lost, total + 1);
    if (applied.length !== firstLost - 1)
      throw new Error(`seed ${seed}: halt applied ${applied.length}, first lost ${firstLost}`);
    expect(applier.halted).toBe(firstLost <= total);
    expect(applier.divergent).toBe(false);
  }
}

/**
 * Every hole closed (filled or skipped) was counted opened first, and so was every hole
 * still open (`open`, counted only at the end: listing gaps costs an allocation).
 * Holes merged into a neighbour leave the count without closing, hence ≥.
 */
function checkGapCounts(seed: number, applier: Applier, open: number): void {
  const c = applier.counters;
  if (c.gapsOpened - c.gapsFilled - c.skippedRanges < open)
    throw new Error(
      `seed ${seed}: ${open} gaps open but ${c.gapsOpened} opened, ${c.gapsFilled} filled, ${c.skippedRanges} skipped`,
    );
}

function skippedBetween(skipped: readonly SeqRange[], last: bigint, next: bigint): boolean {
  let at = last + 1n;
  for (const r of [...skipped].sort((a, b) => (a.fromSeq < b.fromSeq ? -1 : 1)))
    if (r.fromSeq === at) at = r.toSeq + 1n;
  return at === next;
}

/**
 * Runs the seeds, letting the event loop turn every few: tens of seconds of blocking
 * work on a loaded machine would starve vitest's worker RPC (it times out at 60 s).
 */
async function simulateAll(list: readonly number[], policy: SkipPolicy): Promise<void> {
  for (const [i, seed] of list.entries()) {
    simulate(seed, policy);
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('applier simulation', () => {
  it(`keeps every invariant over ${SEEDS} seeds with policy skip`, async () => {
    await simulateAll(seeds(SEEDS, 1), 'skip');
  });

  it(`keeps every invariant over ${Math.ceil(SEEDS / 5)} seeds with policy halt`, async () => {
    await simulateAll(seeds(Math.ceil(SEEDS / 5), 7919), 'halt');
  });
});
