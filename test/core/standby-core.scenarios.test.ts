/**
 * Golden scenarios for the standby core (src/core/standby-core.ts): the applier and
 * the lifecycle behind one interface. Each test/core/scenarios/standby-core/*.scenario
 * is a script of deliveries, ticks, shell events and promotion checks; its .trace is
 * what the core told the shell after each line — entries to apply, ranges to fetch,
 * ranges skipped, lifecycle changes — and the node's state. Covers following,
 * promotion (and leaderless, fenced), snapshot install, blind/degraded, halt, skip
 * and failed. A missing trace fails; rewrite on purpose with OPLOG_UPDATE_GOLDEN=1 and
 * review the diff.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entry, ranges } from '../helpers/scenario-tokens.js';
import type { ApplierConfig } from '../../src/core/applier.js';
import { StandbyCore, type LifecycleChange, type StandbyOutput } from '../../src/core/standby-core.js';
import { STANDBY_EVENTS, type StandbyEvent } from '../../src/core/standby-state.js';
import { epoch, seq } from '../../src/core/types.js';
import { goldenText } from '../helpers/golden.js';

const dir = join(import.meta.dirname, 'scenarios/standby-core');
const update = process.env['OPLOG_UPDATE_GOLDEN'] === '1';

function change(c: LifecycleChange): string {
  return c.ok ? `${c.event}: ${c.from}→${c.to}` : `${c.event} REJECTED in ${c.state}`;
}

function describeCore(core: StandbyCore, out: StandbyOutput | undefined): string {
  const parts: string[] = [];
  if (out !== undefined) {
    if (out.apply.length > 0) parts.push(`apply ${out.apply.map((e) => `${e.seq}@${e.epoch}`).join(' ')}`);
    if (out.fetch.length > 0) parts.push(`fetch ${ranges(out.fetch)}`);
    if (out.skipped.length > 0) parts.push(`SKIPPED ${ranges(out.skipped)}`);
    if (out.events.length > 0) parts.push(out.events.map(change).join(', '));
  }
  const state = [
    core.state,
    `applied=${core.appliedSeq}`,
    `head=${core.knownHeadSeq}`,
    core.gaps.length > 0 ? `gaps=[${ranges(core.gaps)}]` : '',
    core.divergent ? 'DIVERGENT' : '',
    core.halted ? 'HALTED' : '',
  ].filter(Boolean);
  return `  => ${parts.length > 0 ? parts.join('; ') : 'nothing'} | ${state.join(' ')}`;
}

function configFrom(words: readonly string[]): ApplierConfig {
  const kv = Object.fromEntries(words.map((w) => w.split('=') as [string, string]));
  return {
    pendingEntriesMax: Number(kv['pendingEntriesMax'] ?? 64),
    pendingBytesMax: Number(kv['pendingBytesMax'] ?? 100_000),
    gapRequestDelayMs: Number(kv['gapRequestDelayMs'] ?? 100),
    skipTimeoutMs: Number(kv['skipTimeoutMs'] ?? 1000),
    fetchBackoffMs: 100,
    fetchBackoffMaxMs: 1000,
    skipPolicy: kv['policy'] === 'skip' ? 'skip' : 'halt',
    fetchRangesPerTickMax: 16,
    skippedRangesMax: 64,
  };
}

/**
 * Lines (after one `config k=v …`, default policy halt):
 *   <event>                            a lifecycle event the shell fires
 *   at <ms> recv <seq[@epoch]> … [head=N]   a record's verified entries
 *   at <ms> corrupt [head=N]           a record that failed verification
 *   at <ms> head <N>                   a store's head
 *   at <ms> tick
 *   check head=<N> [force]             the promotion preconditions
 *   install applied=<N> epoch=<E>      a snapshot was restored
 */
export function runStandbyCoreScenario(script: string): string {
  const lines: string[] = [];
  let core: StandbyCore | undefined;
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      lines.push(raw);
      continue;
    }
    lines.push(line);
    const words = line.split(/\s+/);
    const kv = Object.fromEntries(words.filter((w) => w.includes('=')).map((w) => w.split('=')));
    if (words[0] === 'config') {
      core = new StandbyCore(configFrom(words.slice(1)), { appliedSeq: seq(0n), appliedEpoch: epoch(0n) });
      continue;
    }
    if (core === undefined) throw new Error(`config first: ${line}`);
    if (words[0] === 'check') {
      const result = core.promotionCheck(BigInt(kv['head'] ?? '0'), words.includes('force'));
      const verdict = result.blockers.length === 0 ? 'may promote' : `refused: ${result.blockers.join(', ')}`;
      const waived = result.overridden.length > 0 ? ` (force overrides ${result.overridden.join(', ')})` : '';
      lines.push(`  => ${verdict}${waived}`);
      continue;
    }
    if (words[0] === 'install') {
      const installed = core.snapshotInstalled({
        appliedSeq: seq(BigInt(kv['applied']!)),
        appliedEpoch: epoch(BigInt(kv['epoch']!)),
      });
      lines.push(describeCore(core, { apply: [], fetch: [], skipped: [], events: [installed] }));
      continue;
    }
    if (words[0] !== 'at') {
      if (!(STANDBY_EVENTS as readonly string[]).includes(words[0]!)) throw new Error(`bad line: ${line}`);
      const fired = core.fire(words[0] as StandbyEvent);
      lines.push(describeCore(core, { apply: [], fetch: [], skipped: [], events: [fired] }));
      continue;
    }
    const now = Number(words[1]);
    const headSeq = kv['head'] === undefined ? undefined : seq(BigInt(kv['head']));
    const args = words.slice(3).filter((w) => !w.includes('='));
    let out: StandbyOutput;
    if (words[2] === 'recv') out = core.receive({ kind: 'record', entries: args.map(entry), headSeq }, now);
    else if (words[2] === 'corrupt') out = core.receive({ kind: 'corrupt', headSeq }, now);
    else if (words[2] === 'head') out = core.observeHead(seq(BigInt(args[0]!)), now);
    else if (words[2] === 'tick') out = core.tick(now);
    else throw new Error(`bad verb: ${line}`);
    lines.push(describeCore(core, out));
  }
  return lines.join('\n');
}

describe('standby core golden scenarios', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.scenario'));
  it('has a scenario for each part of the lifecycle', () =>
    expect(files.sort()).toEqual(
      expect.arrayContaining([
        'blind-degraded.scenario',
        'failed.scenario',
        'fenced.scenario',
        'halt.scenario',
        'promotion.scenario',
        'skip.scenario',
        'snapshot-install.scenario',
      ]),
    ));
  for (const file of files) {
    it(file, () => {
      const trace = runStandbyCoreScenario(readFileSync(join(dir, file), 'utf8'));
      const tracePath = join(dir, file.replace(/\.scenario$/, '.trace'));
      expect(trace).toBe(goldenText(tracePath, trace, update));
    });
  }
});
