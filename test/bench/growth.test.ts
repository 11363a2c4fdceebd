/**
 * The growth scenario's cases, really run at small sizes (src/bench/scenarios/
 * pending-memory.ts, snapshot-growth.ts): the pending buffer's memory is measured at
 * 0, 25, 50 and 100 % of the standby's pendingEntriesMax with every entry really held
 * (nothing applied, nothing dropped); a snapshot case takes and restores a state of N
 * distinct keys and leaves nothing behind; and the etcd size guard of the networked
 * replay leaves a case out with a note that names the sizes. No figure is asserted to
 * be fast: only what must hold whatever the machine's load.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PLAN_DEFAULTS, type BenchPlan } from '../../src/bench/plan.js';
import { pendingMemoryRows } from '../../src/bench/scenarios/pending-memory.js';
import { ETCD_DEFAULT_QUOTA_BYTES, etcdQuotaNote } from '../../src/bench/scenarios/replay-networked.js';
import { distinctValue, snapshotCase } from '../../src/bench/scenarios/snapshot-growth.js';
import { ClusterIds } from '../../src/bench/targets.js';
import { loadZstd } from '../../src/compression/zstd.js';
import { DEFAULT_APPLIER_CONFIG } from '../../src/standby/standby-options.js';

const workDir = mkdtempSync(join(tmpdir(), 'oplog-bench-growth-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

async function plan(): Promise<BenchPlan> {
  return {
    ...PLAN_DEFAULTS.quick,
    quick: true,
    scenarios: ['growth'],
    setups: [],
    warmupMs: 20,
    workDir,
    compression: await loadZstd(),
    ids: new ClusterIds('test'),
    progress: () => {},
  };
}

describe('memory against pending-buffer fill', () => {
  it('holds every entry at each fill; memory grows with it and covers at least the values', async () => {
    const rows = pendingMemoryRows((await plan()).compression);
    const max = DEFAULT_APPLIER_CONFIG.pendingEntriesMax;
    expect(rows.map((r) => [r.fillFraction, r.pendingEntries])).toEqual([
      [0, 0],
      [0.25, max / 4],
      [0.5, max / 2],
      [1, max],
    ]);
    for (const row of rows) {
      expect(row.pendingEntriesMax).toBe(max);
      expect(row.valueBytesTotal).toBe(row.pendingEntries * 512);
      expect(row.totalBytes).toBe(row.heapUsedBytes + row.arrayBuffersBytes);
    }
    const [empty, ...filled] = rows;
    // The empty row is the noise floor: the same buffer measured twice.
    expect(Math.abs(empty!.totalBytes)).toBeLessThan(1_000_000);
    expect(empty!.bytesPerEntry).toBeUndefined();
    for (const row of filled) {
      // Every pending value is a copy of its own: at least its bytes are held.
      expect(row.arrayBuffersBytes).toBeGreaterThanOrEqual(row.valueBytesTotal);
      expect(row.bytesPerEntry).toBeCloseTo(row.totalBytes / row.pendingEntries, 6);
      expect(row.totalOverEstimate).toBeCloseTo(row.totalBytes / row.pendingBytesEstimate, 6);
    }
    expect(filled[2]!.totalBytes).toBeGreaterThan(filled[1]!.totalBytes);
    expect(filled[1]!.totalBytes).toBeGreaterThan(filled[0]!.totalBytes);
  });
});

describe('snapshot and restore against state size', () => {
  it('takes and restores a state of N keys, parts within their totals, and removes its files', async () => {
    const row = await snapshotCase(await plan(), 2_000);
    expect(row.keys).toBe(2_000);
    expect(row.valueBytes).toBe(512);
    // Every value is in the image; distinct values keep the body from folding away.
    expect(row.imageBytes).toBeGreaterThan(2_000 * 512);
    expect(row.bodyBytes).toBeGreaterThan(row.imageBytes / 4);
    expect(row.bodyBytes).toBeLessThan(row.imageBytes);
    expect(row.takeSeconds).toBeCloseTo(row.pauseSeconds + row.saveSeconds, 9);
    expect(row.loadSeconds).toBeLessThanOrEqual(row.restoreSeconds);
    expect(row.takeKeysPerS).toBeCloseTo(2_000 / row.takeSeconds, 6);
    expect(row.restoreKeysPerS).toBeCloseTo(2_000 / row.restoreSeconds, 6);
    expect(row.takeOverRawWrite).toBeCloseTo(row.rawWriteSeconds / row.takeSeconds, 6);
    expect(row.restoreOverRawRead).toBeCloseTo(row.rawReadSeconds / row.restoreSeconds, 6);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('values are distinct, of the asked size, half of them text', () => {
    const values = Array.from({ length: 1_000 }, (_, i) => Buffer.from(distinctValue(i, 512)));
    expect(new Set(values.map((v) => v.toString('hex'))).size).toBe(1_000);
    for (const value of values) expect(value.length).toBe(512);
    expect(values[0]!.toString('utf8').startsWith('{"id":0,')).toBe(true);
  });
});

describe('the etcd size guard of replay from etcd', () => {
  it('lets a log through while the backend stays under the default quota', () => {
    expect(etcdQuotaNote(1_000_000, 81_000_000, 100_000_000)).toBeUndefined();
  });

  it('leaves a case out with a note naming the sizes, never silently', () => {
    const note = etcdQuotaNote(10_000_000, 810_000_000, 600_000_000);
    expect(note).toBe(
      `replay etcd 10000000 entries: left out, the log (810 MB as a file, about 1620 MB in etcd's backend) would take the backend from 600 MB past etcd's default quota of ${Math.round(ETCD_DEFAULT_QUOTA_BYTES / 1e6)} MB (a client cannot read the server's --quota-backend-bytes; deleted keys stay until compacted and defragmented)`,
    );
  });
});
