/**
 * A seeded simulation of the standby core's lifecycle (src/core/standby-core.ts): a
 * log delivered as records reordered, duplicated, dropped and corrupted, on a skewed
 * fake clock with fetches answered late, while the shell's events arrive at random —
 * the source going blind and visible, promotions (aborted, leaderless, fenced,
 * promoted), snapshot installs (failed or restored), a rare fatal error. After every
 * step: applied seqs strictly increase with no jump but a recorded skip or an install;
 * the lifecycle agrees with the applier (halted ⇔ the applier holds a gap; watching ⇔
 * caught up, once something applied); the core never fires an event its own table
 * rejects; no state the promotion preconditions refuse even forced (installing, not a
 * standby) accepts `promote` (DESIGN.md invariant 4); policy halt never skips;
 * divergent ⇔ a skip since the last install; a failed or stopped node moves no more.
 * At the end the source turns healthy and a following node catches up to the head.
 * OPLOG_SIM_SEEDS sets how many seeds; a failure prints its seed.
 */
import { describe, it } from 'vitest';
import type { ApplierConfig, SkipPolicy } from '../../src/core/applier.js';
import { StandbyCore, type StandbyDelivery, type StandbyOutput } from '../../src/core/standby-core.js';
import { STANDBY_STATES, transition, type StandbyEvent } from '../../src/core/standby-state.js';
import type { Entry, SeqRange } from '../../src/core/types.js';
import { epoch, seq } from '../../src/core/types.js';
import { Prng } from '../helpers/prng.js';

const SEEDS = Math.ceil(Number(process.env['OPLOG_SIM_SEEDS'] ?? 3000) / 6);

function makeEntry(s: number): Entry {
  return {
    seq: seq(BigInt(s)),
    epoch: epoch(1n),
    ts: s,
    type: 'put',
    key: `k${s}`,
    value: Uint8Array.of(s & 0xff),
    checksum: 0n,
  };
}

interface Pending {
  readonly atMs: number;
  readonly delivery: StandbyDelivery;
}

const FOLLOWING = new Set(['syncing', 'watching', 'halted']);

export function simulateLifecycle(seed: number, policy: SkipPolicy): void {
  const rng = new Prng(seed);
  const fail = (what: string): never => {
    throw new Error(`seed ${seed} (${policy}): ${what}`);
  };
  const total = rng.int(10, 120);
  const config: ApplierConfig = {
    pendingEntriesMax: rng.int(4, 64),
    pendingBytesMax: 1_000_000,
    gapRequestDelayMs: rng.int(10, 100),
    skipTimeoutMs: rng.int(200, 800),
    fetchBackoffMs: 20,
    fetchBackoffMaxMs: 200,
    skipPolicy: policy,
    fetchRangesPerTickMax: 8,
    skippedRangesMax: 1000,
  };
  const core = new StandbyCore(config, { appliedSeq: seq(0n), appliedEpoch: epoch(0n) });
  const queue: Pending[] = [];
  let now = 0;
  let applied = 0n;
  let skipsSinceInstall = 0;
  const skipped: SeqRange[] = [];
  const record = (from: number, to: number, headSeq: boolean, corrupt: boolean): StandbyDelivery => {
    const last = seq(BigInt(to));
    if (corrupt) return { kind: 'corrupt', headSeq: headSeq ? last : undefined };
    const entries = Array.from({ length: to - from + 1 }, (_, i) => makeEntry(from + i));
    return { kind: 'record', entries, headSeq: headSeq ? last : undefined };
  };
  // The subscription's stream: records of 1–3 entries, some reordered, doubled, lost or damaged.
  for (let s = 1; s <= total;) {
    const to = Math.min(total, s + rng.int(0, 2));
    if (!rng.chance(0.05)) {
      const copies = rng.chance(0.05) ? 2 : 1;
      for (let c = 0; c < copies; c++)
        queue.push({
          atMs: s * 3 + (rng.chance(0.1) ? rng.int(0, 200) : 0),
          delivery: record(s, to, true, rng.chance(0.03)),
        });
    }
    s = to + 1;
  }

  const checkEvents = (out: StandbyOutput, stateBefore: string) => {
    for (const e of out.events)
      if (!e.ok) fail(`the core fired ${e.event}, which its table rejects in ${e.state}`);
    skipped.push(...out.skipped);
    skipsSinceInstall += out.skipped.length;
    if (policy === 'halt' && out.skipped.length > 0) fail('policy halt skipped');
    for (const e of out.apply) {
      if (e.seq <= applied) fail(`applied ${e.seq} after ${applied}`);
      if (e.seq !== applied + 1n && !skippedThrough(skipped, applied, e.seq - 1n))
        fail(`applied ${e.seq} after ${applied} without a recorded skip`);
      applied = e.seq;
    }
    // A skip at the end of the output moves the applied seq with nothing applied.
    if (core.appliedSeq > applied && skippedThrough(skipped, applied, core.appliedSeq))
      applied = core.appliedSeq;
    if (stateBefore === 'failed' || stateBefore === 'stopped') {
      if (out.apply.length + out.fetch.length + out.skipped.length + out.events.length > 0)
        fail(`a ${stateBefore} node moved`);
      return;
    }
    if (core.appliedSeq !== applied) fail(`core applied ${core.appliedSeq}, shell ${applied}`);
    if (FOLLOWING.has(core.state) && (core.state === 'halted') !== core.halted)
      fail(`state ${core.state} but applier halted=${core.halted}`);
    if (out.apply.length > 0 && (core.state === 'syncing' || core.state === 'watching'))
      if ((core.state === 'watching') !== core.appliedSeq >= core.knownHeadSeq)
        fail(`state ${core.state} at applied ${core.appliedSeq}, head ${core.knownHeadSeq}`);
    for (const r of out.fetch) {
      if (rng.chance(0.2)) continue; // the fetch failed: asked again after the backoff
      const atMs = now + rng.int(1, 60);
      for (let s = Number(r.fromSeq); s <= Number(r.toSeq) && s <= total; s++)
        queue.push({ atMs, delivery: record(s, s, false, rng.chance(0.02)) });
    }
  };
  const data = (run: () => StandbyOutput) => {
    const before = core.state;
    checkEvents(run(), before);
  };
  const fire = (event: StandbyEvent) => core.fire(event);
  const always = () => {
    if (!STANDBY_STATES.includes(core.state)) fail(`unknown state ${core.state}`);
    if (core.divergent !== skipsSinceInstall > 0)
      fail(`divergent=${core.divergent}, ${skipsSinceInstall} skips`);
    const forced = core.promotionCheck(BigInt(total), true).blockers;
    if (forced.length > 0 && transition(core.state, 'promote').ok)
      fail(`promote accepted in ${core.state} though refused even forced (${forced.join(', ')})`);
  };

  fire('started');
  fire('connected');
  for (let step = 0; step < 5_000 && now < total * 3 + 2_000; step++) {
    now += rng.int(0, 15);
    const skewedNow = rng.chance(0.1) ? now - rng.int(0, 30) : now;
    const roll = rng.next();
    if (roll < 0.04) fire(rng.chance(0.5) ? 'source_lost' : 'connected');
    else if (roll < 0.05) promoteOnce();
    else if (roll < 0.055) installOnce();
    else if (roll < 0.0555) fire('fatal');
    queue.sort((a, b) => a.atMs - b.atMs);
    for (let n = rng.int(1, 8); n > 0 && queue.length > 0 && queue[0]!.atMs <= now; n--) {
      const { delivery } = queue.shift()!;
      data(() => core.receive(delivery, skewedNow));
    }
    if (rng.chance(0.02))
      data(() => core.observeHead(seq(BigInt(Math.min(total, Math.floor(now / 3)))), skewedNow));
    data(() => core.tick(skewedNow));
    always();
  }

  // The end: a healthy source, and one more write. A node still following catches up to
  // the head. (The write matters: a node that reconnects already caught up stays
  // `syncing` until something is applied — caught_up is derived from an apply.)
  fire('connected');
  if (!FOLLOWING.has(core.state)) return;
  for (let s = Number(applied) + 1; s <= total + 1; s++)
    data(() => core.receive(record(s, s, true, false), now));
  data(() => core.tick(now));
  always();
  if (core.appliedSeq !== BigInt(total + 1) || core.state !== 'watching')
    fail(`healthy source, but ${core.state} at ${core.appliedSeq} of ${total + 1}`);

  function promoteOnce(): void {
    const check = core.promotionCheck(core.knownHeadSeq, rng.chance(0.3));
    if (check.blockers.length > 0) return;
    if (!fire('promote').ok) fail(`promote refused in ${core.state} though the check passed`);
    for (let attempt = 0; ; attempt++) {
      const outcome = rng.next();
      if (outcome < 0.3) {
        // Failed before the fence: following again.
        if (fire('promotion_aborted').ok) return;
        return fail('promotion_aborted refused');
      }
      if (outcome < 0.5 && attempt < 3) {
        if (!fire('promotion_failed_after_fence').ok || core.state !== 'leaderless') fail('not leaderless');
        if (rng.chance(0.2)) {
          fire('fenced');
          return;
        }
        fire('promote');
        continue;
      }
      if (outcome < 0.55) {
        fire('fenced');
        if (core.state !== 'stopped') fail('fenced but not stopped');
        return;
      }
      if (!fire('promoted').ok || core.state !== 'primary') fail('promoted but not primary');
      return;
    }
  }

  function installOnce(): void {
    if (!fire('snapshot_install_began').ok) return;
    if (core.promotionCheck(0n, true).blockers[0] !== 'installing_snapshot') fail('promotable mid install');
    if (rng.chance(0.3)) {
      fire('snapshot_failed');
      if (core.state !== 'starting') fail('a failed install did not go back to starting');
      fire('started');
      return;
    }
    // A healthy node's snapshot: anywhere in the log, even behind this node.
    const at = BigInt(rng.int(0, total));
    if (!core.snapshotInstalled({ appliedSeq: seq(at), appliedEpoch: epoch(1n) }).ok) fail('install refused');
    applied = at;
    skipsSinceInstall = 0;
    skipped.length = 0;
    if (core.appliedSeq !== at || core.divergent || core.halted) fail('an install did not start over');
  }
}

/** Whether recorded skips cover every seq after `last` up to `to`. */
function skippedThrough(skipped: readonly SeqRange[], last: bigint, to: bigint): boolean {
  let at = last + 1n;
  for (const r of [...skipped].sort((a, b) => (a.fromSeq < b.fromSeq ? -1 : 1)))
    if (r.fromSeq <= at && r.toSeq >= at) at = r.toSeq + 1n;
  return at > to;
}

describe('standby core simulation', () => {
  it(`keeps the lifecycle invariants over ${SEEDS} seeds with policy skip`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) simulateLifecycle(seed, 'skip');
  });

  it(`keeps the lifecycle invariants over ${SEEDS} seeds with policy halt`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) simulateLifecycle(seed * 7919, 'halt');
  });
});
