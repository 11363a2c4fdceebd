/**
 * The standby shell around the core, on real adapters with faults injected from
 * outside (test/helpers/flaky-store.ts): a blind source makes it degraded at once and
 * it recovers by itself with nothing lost or applied twice; promotion refuses each
 * failed precondition by name (degraded, divergent after a skipped gap, not a standby),
 * a forced one says what it overrides, a successful one fences the old primary and
 * continues at head + 1, and a failure after the fence is a reported `leaderless`
 * state retried until a writer exists.
 */
import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FencedError,
  InvalidStateError,
  PromotionRefusedError,
  StaleReadError,
} from '../../src/core/errors.js';
import type { StandbyState } from '../../src/core/standby-state.js';
import type { Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { FileSnapshotStore } from '../../src/snapshot/snapshot-store.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { Standby, type StandbyOptions } from '../../src/standby/standby.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { testCompression } from '../helpers/entries.js';
import { CheckedKv, until } from '../helpers/waiting.js';

const compression = testCompression();
const op = (i: number): Op => ({ type: 'put', key: `k${i % 20}`, value: new TextEncoder().encode(`v${i}`) });

async function setup(extra: Partial<StandbyOptions<PrimaryWriter>> = {}) {
  const store = new FlakyStore(new MemoryLogStore());
  const primary = await PrimaryWriter.start({
    stores: [store],
    compression,
    limits: { batchEntriesMax: 16 },
  });
  const kv = new CheckedKv();
  const states: StandbyState[] = [];
  const standby = new Standby<PrimaryWriter>({
    startWriter: startPrimaryWriter,
    source: store,
    stateMachine: kv,
    compression,
    tickMs: 5,
    applier: { gapRequestDelayMs: 10, skipTimeoutMs: 60, fetchBackoffMs: 10 },
    onState: (_from, to) => states.push(to),
    leaderlessRetryMs: 10,
    ...extra,
  });
  standby.start();
  return { store, primary, kv, states, standby };
}

describe('standby shell', () => {
  it('goes degraded at once when the source is cut, refuses promotion, and recovers by itself', async () => {
    const warnings: string[] = [];
    const { store, primary, kv, states, standby } = await setup({
      warn: (message) => warnings.push(message),
    });
    await primary.appendMany(Array.from({ length: 100 }, (_, i) => op(i)));
    await until(() => standby.status.state === 'watching', 'watching');
    expect(standby.read((sm) => (sm as KvStateMachine).size)).toEqual({ value: 20, stale: false });
    store.down = true;
    await until(() => standby.status.degraded, 'degraded');
    expect(() => standby.read((sm) => (sm as KvStateMachine).size)).toThrow(StaleReadError);
    expect(warnings).toEqual(['source flaky memory is not visible: degraded']);
    await expect(standby.promote()).rejects.toMatchObject({ blockers: expect.arrayContaining(['degraded']) });
    store.down = false;
    await primary.appendMany(Array.from({ length: 50 }, (_, i) => op(100 + i)));
    await until(() => standby.status.appliedSeq === 150n && standby.status.state === 'watching', 'recovery');
    expect(states).toContain('degraded');
    expect(kv.seqs).toEqual(Array.from({ length: 150 }, (_, i) => BigInt(i + 1)));
    await standby.stop();
    await primary.close();
  });

  it('refuses promotion when divergent (a skipped gap), and a forced one says what it overrides', async () => {
    const { store, primary, standby } = await setup({
      applier: { gapRequestDelayMs: 10, skipTimeoutMs: 60, fetchBackoffMs: 10, skipPolicy: 'skip' },
    });
    await primary.appendMany(Array.from({ length: 16 }, (_, i) => op(i)));
    await until(() => standby.status.appliedSeq === 16n, 'first batch');
    store.hide.add(17n); // the next record vanishes from the store
    await primary.appendMany(Array.from({ length: 32 }, (_, i) => op(16 + i)));
    await until(() => standby.status.divergent && standby.status.appliedSeq === 48n, 'skip');
    // Exactly the hidden record's seqs were skipped (its size depends on how the writer cut it).
    expect(standby.status.skipped.length).toBe(1);
    expect(standby.status.skipped[0]!.fromSeq).toBe(17n);
    const refused = await standby.promote().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PromotionRefusedError);
    expect((refused as PromotionRefusedError).blockers).toEqual(['divergent']);
    const writer = await standby.promote({ force: true });
    expect(standby.status.promotionOverrides).toEqual(['divergent']);
    expect(writer.epoch).toBe(2n);
    await standby.stop();
    await primary.close().catch(() => undefined);
  });

  it("a divergent node is repaired by installing a healthy node's snapshot", async () => {
    // Every key written once: a skipped entry leaves a visible hole in the state.
    const unique = (i: number): Op => ({
      type: 'put',
      key: `u${i}`,
      value: new TextEncoder().encode(`v${i}`),
    });
    const { store, primary, kv, standby } = await setup({
      applier: { gapRequestDelayMs: 10, skipTimeoutMs: 60, fetchBackoffMs: 10, skipPolicy: 'skip' },
    });
    await primary.appendMany(Array.from({ length: 16 }, (_, i) => unique(i)));
    store.hide.add(17n);
    await primary.appendMany(Array.from({ length: 32 }, (_, i) => unique(16 + i)));
    await until(() => standby.status.divergent && standby.status.appliedSeq === 48n, 'skip');
    store.hide.clear();
    const healthyKv = new KvStateMachine();
    const healthy = new Standby<PrimaryWriter>({
      startWriter: startPrimaryWriter,
      source: store,
      stateMachine: healthyKv,
      compression,
      tickMs: 5,
    });
    healthy.start();
    await until(() => healthy.status.appliedSeq === 48n, 'healthy caught up');
    expect(kv.hash()).not.toBe(healthyKv.hash());
    const dataDir = mkdtempSync(join(tmpdir(), 'oplog-repair-'));
    const snapshots = new FileSnapshotStore({ dataDir, clusterId: 'repair' }, compression);
    await expect(standby.takeSnapshot(snapshots)).rejects.toBeInstanceOf(InvalidStateError);
    const manifest = await healthy.takeSnapshot(snapshots);

    await standby.installSnapshot(() => snapshots.load(manifest));
    await primary.appendMany(Array.from({ length: 4 }, (_, i) => unique(48 + i)));
    await until(() => standby.status.appliedSeq === 52n && healthy.status.appliedSeq === 52n, 'both at 52');
    expect(standby.status.divergent).toBe(false);
    expect(standby.status.skipped).toEqual([]);
    expect(kv.hash()).toBe(healthyKv.hash());
    await until(() => standby.status.state === 'watching', 'watching');
    const writer = await standby.promote();
    expect(standby.status.promotionOverrides).toEqual([]);
    expect(writer.epoch).toBe(2n);
    await healthy.stop();
    await standby.stop();
    await primary.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a promote() issued in the same tick as a snapshot install is refused, even forced', async () => {
    const { primary, kv, standby } = await setup();
    await primary.appendMany(Array.from({ length: 40 }, (_, i) => op(i)));
    await until(() => standby.status.state === 'watching' && standby.status.appliedSeq === 40n, 'watching');
    const dataDir = mkdtempSync(join(tmpdir(), 'oplog-race-'));
    const snapshots = new FileSnapshotStore({ dataDir, clusterId: 'race' }, compression);
    const manifest = await standby.takeSnapshot(snapshots);
    const install = standby.installSnapshot(() => snapshots.load(manifest));
    await expect(standby.promote({ force: true })).rejects.toMatchObject({
      blockers: ['installing_snapshot'],
    });
    await install;
    await primary.appendMany(Array.from({ length: 5 }, (_, i) => op(40 + i)));
    await until(() => standby.status.appliedSeq === 45n, 'following after the install');
    expect(kv.seqs.slice(-5)).toEqual([41n, 42n, 43n, 44n, 45n]);
    await standby.stop();
    await primary.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('policy halt: a missing record halts the node (refusing promotion) until the gap fills', async () => {
    const { store, primary, kv, states, standby } = await setup({
      applier: { gapRequestDelayMs: 10, skipTimeoutMs: 60, fetchBackoffMs: 10, skipPolicy: 'halt' },
    });
    await primary.appendMany(Array.from({ length: 16 }, (_, i) => op(i)));
    await until(() => standby.status.appliedSeq === 16n, 'first batch');
    store.hide.add(17n);
    await primary.appendMany(Array.from({ length: 32 }, (_, i) => op(16 + i)));
    await until(() => standby.status.state === 'halted', 'halted');
    expect(standby.status.divergent).toBe(false);
    await expect(standby.promote()).rejects.toMatchObject({ blockers: expect.arrayContaining(['halted']) });
    store.hide.clear(); // the record is readable again: the next fetch fills the gap
    await until(() => standby.status.appliedSeq === 48n && standby.status.state === 'watching', 'resumed');
    expect(kv.seqs).toEqual(Array.from({ length: 48 }, (_, i) => BigInt(i + 1)));
    expect(states).toContain('halted');
    await standby.stop();
    await primary.close();
  });

  it('promotes: fences the old primary, drains to the head, continues at head + 1', async () => {
    const { store, primary, kv, standby } = await setup();
    await primary.appendMany(Array.from({ length: 64 }, (_, i) => op(i)));
    await until(() => standby.status.state === 'watching' && standby.status.appliedSeq === 64n, 'caught up');
    const writer = await standby.promote();
    expect(standby.status.state).toBe('primary');
    expect(writer.epoch).toBe(2n);
    await expect(primary.append(op(999))).rejects.toBeInstanceOf(FencedError);
    const subscribe = vi.spyOn(store, 'subscribe');
    expect(await writer.append(op(64))).toBe(65n);
    // The new primary applied its write before acknowledging it, without reading it back.
    expect(kv.seqs).toEqual(Array.from({ length: 65 }, (_, i) => BigInt(i + 1)));
    expect(standby.status.appliedSeq).toBe(65n);
    expect(standby.read((sm) => (sm as KvStateMachine).get('k4'))).toEqual({
      value: new TextEncoder().encode('v64'),
      stale: false,
    });
    const many = await writer.appendMany(Array.from({ length: 100 }, (_, i) => op(65 + i)));
    expect(many.at(-1)).toBe(165n);
    expect(kv.seqs).toEqual(Array.from({ length: 165 }, (_, i) => BigInt(i + 1)));
    expect(subscribe).not.toHaveBeenCalled();
    await standby.stop();
  });

  it('a failure after the fence is leaderless, reported and retried until a writer exists', async () => {
    let failures = 2;
    const { primary, states, standby } = await setup({
      onTakeover: async () => {
        if (failures-- > 0) throw new Error('injected failure after the fence');
      },
    });
    await primary.append(op(1));
    await until(() => standby.status.state === 'watching', 'watching');
    const writer = await standby.promote();
    expect(states.filter((s) => s === 'leaderless').length).toBe(2);
    expect(standby.status.promotionAttempts).toBe(3);
    expect(standby.status.lastPromotionError).toBe('injected failure after the fence');
    expect(standby.status.state).toBe('primary');
    // Every retry reused the epoch the first attempt fenced (src/standby/epoch-claim.ts).
    expect(writer.epoch).toBe(2n);
    expect(await writer.append(op(2))).toBe(2n);
    await standby.stop();
  });

  it('a node that is not following refuses promotion even forced', async () => {
    const store = new MemoryLogStore();
    const standby = new Standby<PrimaryWriter>({
      startWriter: startPrimaryWriter,
      source: store,
      stateMachine: new KvStateMachine(),
      compression,
    });
    await expect(standby.promote({ force: true })).rejects.toMatchObject({ blockers: ['not_a_standby'] });
  });
});
