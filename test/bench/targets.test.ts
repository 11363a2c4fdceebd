/**
 * What a bench run measures and where it writes (src/bench/targets.ts, run.ts): each
 * given store alone and etcd + Kafka together when both are given; cluster ids unique
 * within a run; a results file name never overwrites an earlier run's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeRunId } from '../../src/bench/run.js';
import { ClusterIds, fileDirOf, setupsFor } from '../../src/bench/targets.js';
import { parseStoreUrl } from '../../src/config/store-url.js';
import { validateClusterId } from '../../src/core/cluster-id.js';

describe('setupsFor', () => {
  it('each store alone, plus etcd+kafka when both are given', () => {
    const file = parseStoreUrl('file:/tmp/x');
    const etcd = parseStoreUrl('etcd://127.0.0.1:2379');
    const kafka = parseStoreUrl('kafka://127.0.0.1:9092');
    expect(setupsFor([file]).map((s) => s.name)).toEqual(['file']);
    expect(setupsFor([etcd]).map((s) => s.name)).toEqual(['etcd']);
    const all = setupsFor([file, etcd, kafka]);
    expect(all.map((s) => s.name)).toEqual(['file', 'etcd', 'kafka', 'etcd+kafka']);
    expect(all[3]!.stores).toEqual([etcd, kafka]);
    expect(fileDirOf(all[0]!)).toBe('/tmp/x');
    expect(fileDirOf(all[3]!)).toBeUndefined();
  });
});

describe('ClusterIds', () => {
  it('hands out valid, distinct cluster ids', () => {
    const ids = new ClusterIds('lx3k9');
    const taken = [ids.take('tp-ours-512'), ids.take('tp-ours-512'), ids.take('replay-100000')];
    expect(new Set(taken).size).toBe(3);
    for (const id of taken) expect(validateClusterId(id)).toBe(id);
    expect(taken[0]).toBe('bench-lx3k9-0-tp-ours-512');
  });
});

describe('freeRunId', () => {
  it('<date>-<machine>, then -2, -3 when taken', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oplog-runid-'));
    try {
      expect(freeRunId(dir, '2026-12-02', 'box')).toBe('2026-12-02-box');
      writeFileSync(join(dir, '2026-12-02-box.json'), '{}');
      expect(freeRunId(dir, '2026-12-02', 'box')).toBe('2026-12-02-box-2');
      writeFileSync(join(dir, '2026-12-02-box-2.json'), '{}');
      expect(freeRunId(dir, '2026-12-02', 'box')).toBe('2026-12-02-box-3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
