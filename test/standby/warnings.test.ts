/**
 * The standby's warning channel (src/standby/warnings.ts) on a fake clock: one warning
 * per kind per interval, to a `warn` function (the count of what was folded appended to
 * the next message) or to a Logger (`{ kind, cause, folded }`, the cause as text); one
 * kind never hides another; what is still folded is passed on when the interval is over
 * and on stop.
 */
import { describe, expect, it } from 'vitest';
import { RateLimitedWarnings } from '../../src/standby/warnings.js';

describe('RateLimitedWarnings', () => {
  it('to a warn function: the next message of a kind says how many were folded', () => {
    const got: [string, unknown][] = [];
    const clock = { nowMs: 0 };
    const cause = new Error('ECONNREFUSED');
    const warnings = new RateLimitedWarnings(
      { warn: (message, c) => void got.push([message, c]) },
      1_000,
      () => clock.nowMs,
    );
    warnings.maybeWarn('source-blind', 'source etcd is not visible', cause);
    warnings.maybeWarn('source-blind', 'source etcd is not visible', cause);
    warnings.maybeWarn('transition-rejected', 'standby lifecycle: no');
    warnings.maybeWarn('source-blind', 'source etcd is not visible', cause);
    clock.nowMs = 1_000;
    warnings.maybeWarn('source-blind', 'source etcd is not visible again', cause);
    expect(got).toEqual([
      ['source etcd is not visible', cause],
      ['standby lifecycle: no', undefined],
      ['source etcd is not visible again (2 more folded)', cause],
    ]);
  });

  it('to a logger: kind and cause as text; the count and seqs as fields; flushed when due and on stop', () => {
    const got: [object, string][] = [];
    const clock = { nowMs: 0 };
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (fields: object, message: string) => void got.push([fields, message]),
    };
    const warnings = new RateLimitedWarnings({ logger }, 1_000, () => clock.nowMs);
    warnings.maybeWarn('loop-failed', 'follow failed (a)', new Error('a'));
    warnings.maybeWarn('loop-failed', 'follow failed (b)', new Error('b'));
    warnings.maybeWarn('snapshot', 'snapshot failed');
    warnings.maybeWarn('snapshot', 'snapshot failed again');
    clock.nowMs = 999;
    warnings.flushExpired();
    expect(got).toHaveLength(2);
    clock.nowMs = 1_000;
    warnings.flushExpired();
    warnings.maybeWarn('divergent', 'divergent: x');
    warnings.maybeWarn('divergent', 'divergent: y');
    warnings.flush();
    expect(got).toEqual([
      [{ kind: 'loop-failed', cause: 'Error: a' }, 'follow failed (a)'],
      [{ kind: 'snapshot' }, 'snapshot failed'],
      [{ kind: 'loop-failed', cause: 'Error: b', folded: 1 }, 'follow failed (b)'],
      [{ kind: 'snapshot', folded: 1 }, 'snapshot failed again'],
      [{ kind: 'divergent' }, 'divergent: x'],
      [{ kind: 'divergent', folded: 1 }, 'divergent: y'],
    ]);
  });
});
