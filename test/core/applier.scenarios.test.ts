/**
 * Golden scenarios for the applier: each test/core/scenarios/applier/*.scenario is an
 * input script; its .trace is the expected output, line by line. A reviewer reads
 * behaviour, not code. Rewrite traces on purpose with OPLOG_UPDATE_GOLDEN=1 and review
 * the diff.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goldenText } from '../helpers/golden.js';
import { entry, ranges } from '../helpers/scenario-tokens.js';
import { Applier, type ApplierConfig, type ApplierOutput } from '../../src/core/applier.js';
import { epoch, seq } from '../../src/core/types.js';

const dir = join(import.meta.dirname, 'scenarios/applier');
const update = process.env['OPLOG_UPDATE_GOLDEN'] === '1';

function describeOutput(applier: Applier, out: ApplierOutput): string {
  const parts = [];
  if (out.apply.length > 0) parts.push(`apply ${out.apply.map((e) => `${e.seq}@${e.epoch}`).join(' ')}`);
  if (out.fetch.length > 0) parts.push(`fetch ${ranges(out.fetch)}`);
  if (out.skipped.length > 0) parts.push(`SKIPPED ${ranges(out.skipped)}`);
  const c = applier.counters;
  const state = [
    `applied=${applier.appliedSeq}`,
    `pending=${applier.pendingEntries}`,
    `gaps=[${ranges(applier.gaps)}]`,
    applier.divergent ? 'DIVERGENT' : '',
    applier.halted ? 'HALTED' : '',
    c.duplicates ? `dup=${c.duplicates}` : '',
    c.lateAfterSkip ? `late=${c.lateAfterSkip}` : '',
    c.zombies ? `zombie=${c.zombies}` : '',
    c.pendingOverflowDropped ? `overflow=${c.pendingOverflowDropped}` : '',
    c.gapsOpened ? `opened=${c.gapsOpened}` : '',
    c.gapsFilled ? `filled=${c.gapsFilled}` : '',
  ].filter(Boolean);
  return `  => ${parts.length ? parts.join('; ') : 'nothing'} | ${state.join(' ')}`;
}

export function runScenario(script: string): string {
  const lines: string[] = [];
  let applier: Applier | undefined;
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      lines.push(raw);
      continue;
    }
    lines.push(line);
    const words = line.split(/\s+/);
    if (words[0] === 'config') {
      const kv = Object.fromEntries(words.slice(1).map((w) => w.split('=') as [string, string]));
      const config: ApplierConfig = {
        pendingEntriesMax: Number(kv['pendingEntriesMax']),
        pendingBytesMax: Number(kv['pendingBytesMax']),
        gapRequestDelayMs: Number(kv['gapRequestDelayMs']),
        skipTimeoutMs: Number(kv['skipTimeoutMs']),
        fetchBackoffMs: 100,
        fetchBackoffMaxMs: 1000,
        skipPolicy: kv['policy'] === 'halt' ? 'halt' : 'skip',
        fetchRangesPerTickMax: 16,
        skippedRangesMax: 64,
      };
      applier = new Applier(config, { appliedSeq: seq(0n), appliedEpoch: epoch(0n) });
      continue;
    }
    if (applier === undefined || words[0] !== 'at') throw new Error(`bad scenario line: ${line}`);
    const now = Number(words[1]);
    const verb = words[2];
    let out: ApplierOutput;
    if (verb === 'recv') out = applier.receive(words.slice(3).map(entry), now);
    else if (verb === 'head') out = applier.observeHead(seq(BigInt(words[3]!)), now);
    else if (verb === 'tick') out = applier.tick(now);
    else throw new Error(`bad verb: ${line}`);
    lines.push(describeOutput(applier, out));
  }
  return lines.join('\n');
}

describe('applier golden scenarios', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.scenario'))) {
    it(file, () => {
      const trace = runScenario(readFileSync(join(dir, file), 'utf8'));
      const tracePath = join(dir, file.replace(/\.scenario$/, '.trace'));
      expect(trace).toBe(goldenText(tracePath, trace, update));
    });
  }
});
