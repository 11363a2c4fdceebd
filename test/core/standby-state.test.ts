/**
 * Proves the standby transition table has no trap states: every (state, event) pair is
 * either a listed transition or an explicit rejection, and from every state some
 * sequence of shell events reaches `watching` or `stopped`. Also pins the promotion
 * preconditions, including what `force` may and may not override.
 */
import { describe, expect, it } from 'vitest';
import {
  STANDBY_EVENTS,
  STANDBY_STATES,
  STANDBY_TRANSITIONS,
  promotionCheck,
  transition,
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

  it('has no trap states: every state reaches watching or stopped', () => {
    for (const start of STANDBY_STATES) {
      const seen = new Set<StandbyState>([start]);
      const frontier: StandbyState[] = [start];
      while (frontier.length > 0) {
        const state = frontier.pop()!;
        for (const to of Object.values(STANDBY_TRANSITIONS[state])) {
          if (seen.has(to)) continue;
          seen.add(to);
          frontier.push(to);
        }
      }
      expect(seen.has('watching') || seen.has('stopped'), `trap from ${start}`).toBe(true);
    }
    expect(Object.keys(STANDBY_TRANSITIONS.stopped)).toEqual([]);
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
