/**
 * The folding of repeated warnings (src/core/warning-folder.ts), on a fake clock: one
 * line per warning per interval, the next line carrying how many were folded and the
 * seqs they named, summaries for folds no later warning reports (flushExpired, flush on
 * stop), errors, state changes and debug lines never folded, nothing lost uncounted,
 * and the number of warnings tracked bounded.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WARNING_INTERVAL_MS,
  FoldingLogger,
  foldKey,
  type FoldingOptions,
} from '../../src/core/warning-folder.js';
import type { Logger } from '../../src/core/telemetry.js';

interface Line {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

function setup(options: Partial<FoldingOptions> = {}) {
  const lines: Line[] = [];
  const record =
    (level: Line['level']) =>
    (fields: object, message: string): void =>
      void lines.push({ level, fields: fields as Record<string, unknown>, message });
  const inner: Logger = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
  const clock = { nowMs: 1_000_000 };
  const logger = new FoldingLogger(inner, { intervalMs: 10_000, nowMs: () => clock.nowMs, ...options });
  return { lines, clock, logger };
}

describe('one line per warning per interval', () => {
  it('folds repeats within the interval; the next line after it carries the count and the seqs', () => {
    const { lines, clock, logger } = setup();
    logger.warn({ store: 'etcd', fromSeq: '10', toSeq: '12' }, 'gap fetch failed');
    for (let i = 0; i < 5; i++) {
      clock.nowMs += 1_000;
      logger.warn({ store: 'etcd', fromSeq: String(20 + i), toSeq: String(30 + i) }, 'gap fetch failed');
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]!.fields).toEqual({ store: 'etcd', fromSeq: '10', toSeq: '12' });
    clock.nowMs = 1_000_000 + 10_000; // exactly one interval after the first line
    logger.warn({ store: 'etcd', fromSeq: '40', toSeq: '41', cause: 'timeout' }, 'gap fetch failed');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({
      level: 'warn',
      message: 'gap fetch failed',
      fields: {
        store: 'etcd',
        fromSeq: '40',
        toSeq: '41',
        cause: 'timeout',
        folded: 5,
        foldedFromSeq: '20',
        foldedToSeq: '34',
      },
    });
    // The count starts over: the line that carried it opened a new interval.
    clock.nowMs += 1;
    logger.warn({ store: 'etcd', seq: 7n }, 'gap fetch failed');
    clock.nowMs += 10_000;
    logger.warn({ store: 'etcd' }, 'gap fetch failed');
    expect(lines[2]!.fields).toEqual({ store: 'etcd', folded: 1, foldedFromSeq: '7', foldedToSeq: '7' });
  });

  it('seqs as bigint, safe integers or decimal text; anything else is not a seq', () => {
    const { lines, clock, logger } = setup();
    logger.warn({}, 'w');
    for (const seq of [5n, 3, '9', 'x', -1, 1.5, '18446744073709551615']) logger.warn({ seq } as object, 'w');
    clock.nowMs += 10_000;
    logger.warn({}, 'w');
    expect(lines[1]!.fields).toEqual({
      folded: 7,
      foldedFromSeq: '3',
      foldedToSeq: '18446744073709551615',
    });
  });

  it('a folded line without seqs carries only the count', () => {
    const { lines, clock, logger } = setup();
    logger.warn({ cause: 'a' }, 'promotion failed');
    logger.warn({ cause: 'b' }, 'promotion failed');
    clock.nowMs += 10_000;
    logger.warn({ cause: 'c' }, 'promotion failed');
    expect(lines.map((l) => l.fields)).toEqual([{ cause: 'a' }, { cause: 'c', folded: 1 }]);
  });
});

describe('which warnings are the same', () => {
  it('the message and the identity fields: another store or loop is another warning', () => {
    const { lines, logger } = setup();
    logger.warn({ store: 'etcd' }, 'store unavailable');
    logger.warn({ store: 'kafka' }, 'store unavailable');
    logger.warn({ store: 'etcd' }, 'store unavailable');
    logger.warn({ loop: 'follow', outcome: 'retrying' }, 'loop failed');
    logger.warn({ loop: 'fetch', outcome: 'retrying' }, 'loop failed');
    logger.warn({ loop: 'fetch', outcome: 'failed' }, 'loop failed');
    logger.warn({ store: 'etcd' }, 'another message');
    // A writer stops, and a node is fenced, once per epoch: those never fold.
    logger.warn({ epoch: '2', cause: 'fenced' }, 'writer stopped');
    logger.warn({ epoch: '3', cause: 'fenced' }, 'writer stopped');
    logger.warn({ byEpoch: '4' }, 'fenced by a newer epoch');
    logger.warn({ byEpoch: '5' }, 'fenced by a newer epoch');
    logger.warn({ byEpoch: '5' }, 'fenced by a newer epoch');
    expect(lines.map((l) => [l.message, l.fields])).toEqual([
      ['store unavailable', { store: 'etcd' }],
      ['store unavailable', { store: 'kafka' }],
      ['loop failed', { loop: 'follow', outcome: 'retrying' }],
      ['loop failed', { loop: 'fetch', outcome: 'retrying' }],
      ['loop failed', { loop: 'fetch', outcome: 'failed' }],
      ['another message', { store: 'etcd' }],
      ['writer stopped', { epoch: '2', cause: 'fenced' }],
      ['writer stopped', { epoch: '3', cause: 'fenced' }],
      ['fenced by a newer epoch', { byEpoch: '4' }],
      ['fenced by a newer epoch', { byEpoch: '5' }],
    ]);
  });

  it('a warning that names its kind folds on the kind, whatever its message says', () => {
    const { lines, logger } = setup();
    logger.warn({ kind: 'loop-failed', cause: 'ECONNREFUSED' }, 'follow failed (ECONNREFUSED)');
    logger.warn({ kind: 'loop-failed', cause: 'ETIMEDOUT' }, 'follow failed (ETIMEDOUT)');
    logger.warn({ kind: 'source-blind' }, 'follow failed (ETIMEDOUT)');
    expect(lines.map((l) => l.message)).toEqual([
      'follow failed (ECONNREFUSED)',
      'follow failed (ETIMEDOUT)',
    ]);
    expect(foldKey({ kind: 'a' }, 'x')).toBe(foldKey({ kind: 'a', cause: 'y' }, 'z'));
    expect(foldKey({ kind: 'a', store: 'etcd' }, 'x')).not.toBe(foldKey({ kind: 'a', store: 'kafka' }, 'x'));
    expect(foldKey({}, 'x')).not.toBe(foldKey({ kind: 'x' }, 'x'));
  });
});

describe('never folded', () => {
  it('errors, info (state changes) and debug lines pass one by one', () => {
    const { lines, logger } = setup();
    for (let i = 0; i < 50; i++) {
      logger.error({ store: 'etcd', seq: String(i) }, 'checkpoint mismatch');
      logger.info({ from: 'watching', to: 'degraded' }, 'state changed');
      logger.debug({ seq: String(i) }, 'checkpoint appended');
    }
    expect(lines).toHaveLength(150);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(50);
    expect(lines.filter((l) => l.level === 'info')).toHaveLength(50);
    expect(lines.filter((l) => l.level === 'debug')).toHaveLength(50);
    expect(lines.some((l) => 'folded' in l.fields)).toBe(false);
  });

  it('with intervalMs 0 every warning passes', () => {
    const { lines, logger } = setup({ intervalMs: 0 });
    for (let i = 0; i < 20; i++) logger.warn({ store: 'etcd' }, 'store unavailable');
    expect(lines).toHaveLength(20);
    expect(logger.trackedCount).toBe(0);
  });

  it('an interval that is not a non-negative integer is refused', () => {
    for (const intervalMs of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => setup({ intervalMs })).toThrow(RangeError);
  });
});

describe('folds no later warning reports', () => {
  it('flushExpired: once the interval is over, a summary repeats the newest folded warning with the count', () => {
    const { lines, clock, logger } = setup();
    logger.warn({ store: 'file', seq: '1' }, 'corrupt record');
    clock.nowMs += 100;
    logger.warn({ store: 'file', seq: '2', cause: 'first' }, 'corrupt record');
    clock.nowMs += 100;
    logger.warn({ store: 'file', seq: '3', cause: 'second' }, 'corrupt record');
    clock.nowMs += 9_799; // 9,999 ms after the line: not yet
    logger.flushExpired();
    expect(lines).toHaveLength(1);
    clock.nowMs += 1;
    logger.flushExpired();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({
      level: 'warn',
      message: 'corrupt record',
      fields: { store: 'file', seq: '3', cause: 'second', folded: 2, foldedFromSeq: '2', foldedToSeq: '3' },
    });
    // The summary was this interval's line: a repeat right after it folds again.
    logger.warn({ store: 'file', seq: '4' }, 'corrupt record');
    expect(lines).toHaveLength(2);
    clock.nowMs += 10_000;
    logger.flushExpired();
    expect(lines[2]!.fields).toMatchObject({ seq: '4', folded: 1 });
  });

  it('flushExpired forgets a warning quiet for a whole interval; its next occurrence is a fresh line', () => {
    const { lines, clock, logger } = setup();
    logger.warn({}, 'w');
    expect(logger.trackedCount).toBe(1);
    clock.nowMs += 10_000;
    logger.flushExpired();
    expect(lines).toHaveLength(1);
    expect(logger.trackedCount).toBe(0);
    logger.warn({}, 'w');
    expect(lines).toHaveLength(2);
    expect(lines[1]!.fields).toEqual({});
  });

  it('flush (on stop) logs every fold, whatever the time, and forgets everything', () => {
    const { lines, clock, logger } = setup();
    logger.warn({ store: 'etcd' }, 'store unavailable');
    logger.warn({ store: 'etcd' }, 'store unavailable');
    logger.warn({ store: 'kafka' }, 'store unavailable');
    logger.warn({ store: 'kafka', toSeq: '9' }, 'store unavailable');
    logger.warn({ store: 'kafka' }, 'store unavailable');
    logger.warn({}, 'quiet: nothing folded');
    clock.nowMs += 1;
    logger.flush();
    expect(lines.slice(3).map((l) => l.fields)).toEqual([
      { store: 'etcd', folded: 1 },
      { store: 'kafka', folded: 2, foldedFromSeq: '9', foldedToSeq: '9' },
    ]);
    expect(logger.trackedCount).toBe(0);
    logger.flush();
    expect(lines).toHaveLength(5);
  });
});

describe('bounds', () => {
  it('a warning every 100 ms for an hour: one line per interval, and lines + folded = warnings', () => {
    const { lines, clock, logger } = setup({ intervalMs: DEFAULT_WARNING_INTERVAL_MS });
    const warnings = 36_000;
    for (let i = 0; i < warnings; i++) {
      logger.warn({ kind: 'source-blind', seq: String(i) }, `blind for ${i * 100} ms`);
      clock.nowMs += 100;
      if (i % 10 === 0) logger.flushExpired();
    }
    logger.flush();
    // A line every 10 s (each the 100th warning), then on stop the summary of the last 99.
    expect(lines).toHaveLength(361);
    const folded = lines.reduce((sum, l) => sum + ((l.fields['folded'] as number | undefined) ?? 0), 0);
    expect(folded).toBe(360 * 99);
    // Every warning is on a line or counted, once: the summary line repeats a counted one.
    expect(lines.length - 1 + folded).toBe(warnings);
    expect(lines.at(-1)!.fields).toMatchObject({ seq: '35999', folded: 99, foldedFromSeq: '35901' });
    // The folded seqs tile the run: each line's range starts where the previous line ended.
    const ranges = lines
      .filter((l) => l.fields['folded'] !== undefined)
      .map((l) => [BigInt(l.fields['foldedFromSeq'] as string), BigInt(l.fields['foldedToSeq'] as string)]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThan(ranges[i - 1]![1]!);
  });

  it('at most keysMax warnings are tracked; past it a new one passes unfolded, never lost', () => {
    const { lines, clock, logger } = setup({ keysMax: 3 });
    for (const store of ['a', 'b', 'c', 'd', 'd', 'd']) logger.warn({ store }, 'store unavailable');
    expect(logger.trackedCount).toBe(3);
    expect(lines.map((l) => l.fields['store'])).toEqual(['a', 'b', 'c', 'd', 'd', 'd']);
    // Once the tracked ones are quiet for an interval, room is made for a new one.
    clock.nowMs += 10_000;
    logger.warn({ store: 'e' }, 'store unavailable');
    logger.warn({ store: 'e' }, 'store unavailable');
    expect(lines).toHaveLength(7);
    expect(logger.trackedCount).toBe(1);
  });
});
