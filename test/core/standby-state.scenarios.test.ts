/**
 * Golden scenarios for the standby state machine: each
 * test/core/scenarios/standby/*.scenario is a script of shell events and promotion
 * checks; its .trace is the state after each line (or the rejection). Also checks that
 * docs/standby-state-machine.md embeds the diagram rendered from the table. A missing
 * trace fails (as the applier's does) instead of being written from today's behaviour.
 * Rewrite both on purpose with OPLOG_UPDATE_GOLDEN=1 and review the diff.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderStandbyDiagram } from '../../src/core/standby-diagram.js';
import {
  STANDBY_EVENTS,
  promotionCheck,
  transition,
  type StandbyEvent,
  type StandbyState,
} from '../../src/core/standby-state.js';
import { goldenText } from '../helpers/golden.js';

const dir = join(import.meta.dirname, 'scenarios/standby');
const docPath = join(import.meta.dirname, '../../docs/standby-state-machine.md');
const update = process.env['OPLOG_UPDATE_GOLDEN'] === '1';

/**
 * Lines: `<event>` fires an event; `check applied=N head=N [divergent] [force]` runs the
 * promotion preconditions against the current state. Each line is echoed with `=> …`.
 */
export function runStandbyScenario(script: string): string {
  let state: StandbyState = 'starting';
  const out: string[] = [];
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      out.push(raw);
      continue;
    }
    const [word, ...args] = line.split(/\s+/);
    if (word === 'check') {
      const kv = Object.fromEntries(args.map((a) => a.split('=')));
      const result = promotionCheck(
        {
          state,
          divergent: args.includes('divergent'),
          appliedSeq: BigInt(kv['applied'] ?? '0'),
          headSeq: BigInt(kv['head'] ?? '0'),
        },
        args.includes('force'),
      );
      const verdict = result.blockers.length === 0 ? 'may promote' : `refused: ${result.blockers.join(', ')}`;
      const waived = result.overridden.length > 0 ? ` (force overrides ${result.overridden.join(', ')})` : '';
      out.push(`${line}  => ${verdict}${waived}`);
      continue;
    }
    if (!(STANDBY_EVENTS as readonly string[]).includes(word!)) throw new Error(`unknown event: ${line}`);
    const result = transition(state, word as StandbyEvent);
    if (result.ok) state = result.to;
    out.push(`${line}  => ${result.ok ? state : `REJECTED, still ${state}`}`);
  }
  return out.join('\n');
}

describe('standby state machine golden scenarios', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.scenario'));
  it('has scenarios', () => expect(files.length).toBeGreaterThanOrEqual(4));
  for (const file of files) {
    it(file, () => {
      const trace = runStandbyScenario(readFileSync(join(dir, file), 'utf8'));
      const tracePath = join(dir, file.replace(/\.scenario$/, '.trace'));
      expect(trace).toBe(goldenText(tracePath, trace, update));
    });
  }

  it('refuses a scenario whose trace is missing, and writes nothing', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'oplog-golden-'));
    try {
      const tracePath = join(scratch, 'new.trace');
      expect(() => goldenText(tracePath, 'started  => connecting', false)).toThrow(/new\.trace missing/);
      expect(readdirSync(scratch)).toEqual([]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('docs/standby-state-machine.md', () => {
  it('embeds the diagram rendered from the transition table', () => {
    const begin = '```mermaid\n';
    const doc = readFileSync(docPath, 'utf8');
    const start = doc.indexOf(begin);
    const end = doc.indexOf('\n```', start + begin.length);
    expect(start).toBeGreaterThanOrEqual(0);
    const rendered = renderStandbyDiagram();
    if (update) {
      writeFileSync(docPath, doc.slice(0, start + begin.length) + rendered + doc.slice(end));
      return;
    }
    expect(doc.slice(start + begin.length, end)).toBe(rendered);
  });
});
