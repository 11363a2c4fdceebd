/**
 * The standby's warning channel (src/standby/warnings.ts) on a fake clock: one warning
 * per kind per interval, to a `warn` function (the count of what was folded appended to
 * the next message) or to a Logger (`{ kind, cause, folded }`, the cause as text); one
 * kind never hides another; what is still folded is passed on when the interval is over
 * and on stop. A live standby warns of each gap it fetches with the gap's seqs, and the
 * second gap within the interval is folded and reported, with its seqs, on stop.
 */
import { describe, expect, it } from 'vitest';
import { epoch as toEpoch } from '../../src/core/types.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import type { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { Standby } from '../../src/standby/standby.js';
import { RateLimitedWarnings } from '../../src/standby/warnings.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { makeRecord, testCompression } from '../helpers/entries.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { CheckedKv, until } from '../helpers/waiting.js';

/** A logger that keeps its warnings. */
function warnLog() {
  const got: [Record<string, unknown>, string][] = [];
  const logger = {
    debug() {},
    info() {},
    error() {},
    warn: (fields: object, message: string) => void got.push([fields as Record<string, unknown>, message]),
  };
  return { got, logger };
}

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

  it('seqs a warning names reach a logger as fields, and the folded ones as a range', () => {
    const { got, logger } = warnLog();
    const warnings = new RateLimitedWarnings({ logger }, 1_000, () => 0);
    warnings.maybeWarn('range-skipped', 'skipped 1..2', undefined, { fromSeq: 1n, toSeq: 2n });
    warnings.maybeWarn('range-skipped', 'skipped 5..6', undefined, { fromSeq: 5n, toSeq: 6n });
    warnings.maybeWarn('range-skipped', 'skipped 9..9', undefined, { fromSeq: 9n, toSeq: 9n });
    warnings.flush();
    expect(got).toEqual([
      [{ kind: 'range-skipped', fromSeq: '1', toSeq: '2' }, 'skipped 1..2'],
      [
        { kind: 'range-skipped', fromSeq: '9', toSeq: '9', folded: 2, foldedFromSeq: '5', foldedToSeq: '9' },
        'skipped 9..9',
      ],
    ]);
  });
});

describe('a live standby', () => {
  it('warns of each gap it fetches with its seqs; a second one within the interval is folded, reported on stop', async () => {
    const compression = testCompression();
    const memory = new MemoryLogStore();
    await memory.fence(toEpoch(1n));
    const source = new FlakyStore(memory);
    const clock = { nowMs: 1_000 };
    const { got, logger } = warnLog();
    const standby = new Standby<PrimaryWriter>({
      startWriter: startPrimaryWriter,
      source,
      fetchStore: memory,
      stateMachine: new CheckedKv(),
      compression,
      tickMs: 5,
      nowMs: () => clock.nowMs,
      applier: { gapRequestDelayMs: 100, skipTimeoutMs: 1_000, fetchBackoffMs: 100 },
      logger,
      warningIntervalMs: 10_000,
    });
    standby.start();
    const appendHidingFirst = async (firstSeq: bigint) => {
      source.hide.add(firstSeq); // these 8 seqs never reach the subscription: a gap
      await source.append(makeRecord(firstSeq, 8, 1n, compression), toEpoch(1n));
      await source.append(makeRecord(firstSeq + 8n, 8, 1n, compression), toEpoch(1n));
      await until(() => standby.status.headSeq === firstSeq + 15n, 'the record past the hole');
      clock.nowMs += 150; // past gapRequestDelayMs: the next tick fetches the hole
      await until(() => standby.appliedSeq === firstSeq + 15n, 'the gap filled');
    };
    await appendHidingFirst(1n);
    await appendHidingFirst(17n);
    const gaps = () => got.filter(([fields]) => fields['kind'] === 'gap');
    expect(gaps()).toEqual([
      [
        { kind: 'gap', fromSeq: '1', toSeq: '8' },
        'standby gap: seqs 1..8 missing, fetching them from memory',
      ],
    ]);
    await standby.stop();
    expect(gaps()).toEqual([
      [
        { kind: 'gap', fromSeq: '1', toSeq: '8' },
        'standby gap: seqs 1..8 missing, fetching them from memory',
      ],
      [
        { kind: 'gap', fromSeq: '17', toSeq: '24', folded: 1, foldedFromSeq: '17', foldedToSeq: '24' },
        'standby gap: seqs 17..24 missing, fetching them from memory',
      ],
    ]);
  });
});
