/**
 * Proves the standby transition table has no trap states: every (state, event) pair is
 * either a listed transition or an explicit rejection; every non-terminal state (but
 * the two that wait for an operator on purpose) has an exit besides stop/fatal that a
 * background loop fires, and every event is fired by the shell (src/standby) or by
 * the core deriving it from the applier (src/core/standby-core.ts) — a source scan: a
 * `fenced` that nothing fired once left a fenced primary reporting `primary`. Also pins which
 * states serve fresh reads and the promotion preconditions, including what `force`
 * may and may not override.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EVENT_DRIVERS,
  OPERATOR_WAIT_STATES,
  STANDBY_EVENTS,
  STANDBY_STATES,
  STANDBY_TRANSITIONS,
  TERMINAL_STATES,
  promotionCheck,
  readsAreFresh,
  transition,
  type StandbyEvent,
  type StandbyState,
} from '../../src/core/standby-state.js';

describe('standby state machine', () => {
  it('answers every (state, event) pair: a listed target or a rejection with a reason', () => {
    let accepted = 0;
    for (const state of STANDBY_STATES) {
      for (const event of STANDBY_EVENTS) {
        const result = transition(state, event);
        const listed = STANDBY_TRANSITIONS[state][event];
        if (listed === undefined) {
          expect(result.ok).toBe(false);
        } else {
          expect(result).toEqual({ ok: true, from: state, to: listed });
          accepted++;
        }
      }
    }
    expect(accepted).toBeGreaterThan(30);
  });

  it('has no trap states: every non-terminal state has an exit other than stop/fatal that a loop drives', () => {
    // `stop` and `fatal` leave every state, so reachability alone proves nothing; an
    // exit counts only if it goes elsewhere and something the standby runs fires it.
    for (const state of STANDBY_STATES) {
      if (TERMINAL_STATES.includes(state)) continue;
      const exits = (Object.entries(STANDBY_TRANSITIONS[state]) as [StandbyEvent, StandbyState][]).filter(
        ([event, to]) => to !== state && event !== 'stop' && event !== 'fatal',
      );
      const byLoop = exits.filter(([event]) => EVENT_DRIVERS[event].some((d) => d.kind === 'loop'));
      if (OPERATOR_WAIT_STATES.includes(state)) continue;
      expect(
        byLoop.map(([event]) => event),
        `no loop leaves ${state}`,
      ).not.toEqual([]);
    }
    // Waiting for an operator is a short, explicit list, and each one still has a way out.
    expect(OPERATOR_WAIT_STATES).toEqual(['starting', 'failed']);
    expect(Object.keys(STANDBY_TRANSITIONS.starting)).toContain('started');
    expect(STANDBY_TRANSITIONS.failed.stop).toBe('stopped');
    expect(Object.keys(STANDBY_TRANSITIONS.stopped)).toEqual([]);
  });

  it('the shell really fires every event the table expects it to', () => {
    const dir = join(import.meta.dirname, '../../src/standby');
    const core = join(import.meta.dirname, '../../src/core/standby-core.ts');
    const source = [
      ...readdirSync(dir)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(dir, f)),
      core,
    ]
      .map((path) => readFileSync(path, 'utf8'))
      .join('\n');
    const fired = new Set([...source.matchAll(/fire\('([a-z_]+)'\)/g)].map((m) => m[1]));
    for (const event of STANDBY_EVENTS) expect(fired.has(event), `nothing fires ${event}`).toBe(true);
  });

  it('serves reads as fresh only while following a visible source or writing', () => {
    const fresh = STANDBY_STATES.filter(readsAreFresh);
    expect(fresh).toEqual(['syncing', 'watching', 'primary']);
  });

  it('degraded is left by connected and never gives up reconnecting', () => {
    expect(transition('degraded', 'connected')).toMatchObject({ ok: true, to: 'syncing' });
    expect(transition('degraded', 'source_lost')).toMatchObject({ ok: true, to: 'degraded' });
  });

  it('refuses promotion with reasons, and force overrides all but a snapshot install', () => {
    const base = { state: 'watching' as const, divergent: false, appliedSeq: 10n, headSeq: 10n };
    expect(promotionCheck(base, false).blockers).toEqual([]);
    expect(promotionCheck({ ...base, divergent: true }, false).blockers).toEqual(['divergent']);
    expect(promotionCheck({ ...base, state: 'degraded' }, false).blockers).toEqual(['degraded']);
    expect(promotionCheck({ ...base, appliedSeq: 9n }, false).blockers).toEqual(['not_caught_up']);
    const forced = promotionCheck({ ...base, state: 'degraded', divergent: true }, true);
    expect(forced).toEqual({ blockers: [], overridden: ['divergent', 'degraded'] });
    expect(promotionCheck({ ...base, state: 'installing_snapshot' }, true).blockers).toEqual([
      'installing_snapshot',
    ]);
  });
});
