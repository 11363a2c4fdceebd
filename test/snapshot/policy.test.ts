/**
 * The standby's own snapshots and the retention they allow: a snapshot every N applied
 * entries (each one exactly the log's state at its seq), the newest `keep` kept; a
 * snapshot that falls due while the previous one is still being written is taken when
 * that one ends, not forgotten until the next apply; the log truncated to the newest
 * snapshot still rebuilds a fresh node, while a replay without the snapshot is refused
 * with a typed error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, TruncatedError } from '../../src/core/errors.js';
import type { Op, Seq } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { replay } from '../../src/snapshot/replay.js';
import { truncateToSnapshot } from '../../src/snapshot/retention.js';
import {
  FileSnapshotStore,
  type SnapshotInput,
  type SnapshotManifest,
} from '../../src/snapshot/snapshot-store.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { Standby } from '../../src/standby/standby.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { testCompression } from '../helpers/entries.js';
import { until } from '../helpers/waiting.js';

const compression = testCompression();
const dataDir = mkdtempSync(join(tmpdir(), 'oplog-policy-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const op = (i: number): Op => ({ type: 'put', key: `k${(i * 17) % 61}`, value: Buffer.from(`v${i}`) });

describe('snapshot policy and retention', () => {
  it('snapshots every N entries, keeps the newest; the truncated log still rebuilds a node', async () => {
    const store = new MemoryLogStore();
    const primary = await PrimaryWriter.start({
      stores: [store],
      compression,
      limits: { batchEntriesMax: 20 },
    });
    const snapshots = new FileSnapshotStore({ dataDir, clusterId: 'policy' }, compression);
    const standby = new Standby({
      source: store,
      stateMachine: new KvStateMachine(),
      compression,
      tickMs: 5,
      snapshotPolicy: { sink: snapshots, everyEntries: 100, keep: 2 },
    });
    // Taken and pruned: once the policy has one past 400 with 500 applied, no other is due.
    const taken: Seq[] = [];
    standby.events.on('snapshot-taken', ({ lastSeq }) => taken.push(lastSeq));
    standby.start();
    for (let i = 0; i < 500; i += 20) {
      await primary.appendMany(Array.from({ length: 20 }, (_, j) => op(i + j)));
      await standby.waitForApplied(BigInt(i + 20));
      await until(async () => standby.status.snapshotSeq >= BigInt(i + 20) - 100n, 'snapshot keeps up');
    }
    await until(() => (taken.at(-1) ?? 0n) > 400n, 'the policy done (a snapshot past 400, pruned)');
    const kept = await snapshots.list();
    expect(kept.map((m) => m.lastSeq)).toEqual(taken.slice(-2));
    expect(kept[1]!.lastSeq - kept[0]!.lastSeq).toBeGreaterThanOrEqual(100n);
    for (const manifest of kept) {
      // Each snapshot is exactly the log's state at its seq.
      const exact = await replay({
        store,
        stateMachine: new KvStateMachine(),
        compression,
        toSeq: manifest.lastSeq,
      });
      expect(exact.hash.toString(16).padStart(16, '0')).toBe(manifest.stateHash);
    }

    const newest = kept[1]!;
    expect(await truncateToSnapshot([store], snapshots, { keepEntries: 10 })).toBe(newest.lastSeq - 10n);
    await expect(replay({ store, stateMachine: new KvStateMachine(), compression })).rejects.toBeInstanceOf(
      TruncatedError,
    );
    const rebuilt = await replay({ store, stateMachine: new KvStateMachine(), compression, snapshots });
    expect(rebuilt.appliedSeq).toBe(500n);
    expect(rebuilt.hash).toBe(standby.read((sm) => sm.hash()).value);

    const fresh = new Standby({ source: store, stateMachine: new KvStateMachine(), compression, tickMs: 5 });
    await fresh.installSnapshot(() => snapshots.load(newest));
    await primary.appendMany([op(500), op(501)]);
    await fresh.waitForApplied(502n);
    await standby.waitForApplied(502n);
    expect(fresh.read((sm) => sm.hash()).value).toBe(standby.read((sm) => sm.hash()).value);
    await fresh.stop();
    await standby.stop();
    await primary.close();
  });

  it('takes a snapshot that fell due while the previous one was being written, with no further apply', async () => {
    const store = new MemoryLogStore();
    const primary = await PrimaryWriter.start({ stores: [store], compression });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const saved: bigint[] = [];
    const sink = {
      save: async (input: SnapshotInput): Promise<SnapshotManifest> => {
        if (saved.length === 0) await gate; // the first write is slow
        saved.push(input.lastSeq);
        return { lastSeq: input.lastSeq } as SnapshotManifest;
      },
    };
    const standby = new Standby({
      source: store,
      stateMachine: new KvStateMachine(),
      compression,
      tickMs: 5,
      snapshotPolicy: { sink, everyEntries: 10 },
    });
    standby.start();
    await primary.appendMany(Array.from({ length: 10 }, (_, i) => op(i)));
    await standby.waitForApplied(10n);
    // Due again (20 − 10 ≥ 10) while the first is still being written; then the log is idle.
    await primary.appendMany(Array.from({ length: 10 }, (_, i) => op(10 + i)));
    await standby.waitForApplied(20n);
    release();
    await until(() => standby.status.snapshotSeq === 20n, 'the due snapshot at 20');
    expect(saved).toEqual([10n, 20n]);
    await standby.stop();
    await primary.close();
  });

  it('refuses a policy that could never run, and a negative retention margin', async () => {
    const store = new MemoryLogStore();
    const snapshots = new FileSnapshotStore({ dataDir, clusterId: 'policy-bad' }, compression);
    for (const policy of [
      { sink: snapshots, everyEntries: 0 },
      { sink: snapshots, everyEntries: 1.5 },
      { sink: snapshots, everyEntries: 10, keep: 0 },
    ])
      expect(
        () =>
          new Standby({
            source: store,
            stateMachine: new KvStateMachine(),
            compression,
            snapshotPolicy: policy,
          }),
      ).toThrow(ConfigError);
    await expect(truncateToSnapshot([store], snapshots, { keepEntries: -1 })).rejects.toBeInstanceOf(
      ConfigError,
    );
    expect(await truncateToSnapshot([store], snapshots)).toBeUndefined();
  });
});
