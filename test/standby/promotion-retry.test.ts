/**
 * The promotion's failure paths (issue 12 items 7 and 8): a throwing promotionStores()
 * aborts the promotion and the node follows again; a leaderless retry reuses the epoch
 * its first attempt fenced (one promote(), one epoch), also when only some stores took
 * the fence; stop() ends the retry loop, even mid backoff; a claim overtaken by a newer
 * epoch is not fought over; and a promoted node fenced by a newer primary reports it
 * (`fenced` event, state `stopped`) instead of `primary` for ever.
 */
import { describe, expect, it } from 'vitest';
import { ClosedError, FencedError, UnknownOutcomeError } from '../../src/core/errors.js';
import type { StandbyState } from '../../src/core/standby-state.js';
import type { Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { Standby, type StandbyEventMap, type StandbyOptions } from '../../src/standby/standby.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { testCompression } from '../helpers/entries.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { CheckedKv, until } from '../helpers/waiting.js';

const compression = testCompression();
const op = (i: number): Op => ({ type: 'put', key: `k${i}`, value: new TextEncoder().encode(`v${i}`) });

async function setup(extra: Partial<StandbyOptions<PrimaryWriter>> = {}) {
  const store = new FlakyStore(new MemoryLogStore());
  const other = new FlakyStore(new MemoryLogStore());
  const primary = await PrimaryWriter.start({ stores: [store, other], compression });
  const states: StandbyState[] = [];
  const standby = new Standby<PrimaryWriter>({
    startWriter: startPrimaryWriter,
    source: store,
    fetchStore: other,
    stateMachine: new CheckedKv(),
    compression,
    tickMs: 5,
    leaderlessRetryMs: 5,
    onState: (_from, to) => states.push(to),
    ...extra,
  });
  standby.start();
  await primary.appendMany(Array.from({ length: 4 }, (_, i) => op(i)));
  await until(() => standby.status.state === 'watching' && standby.status.appliedSeq === 4n, 'watching');
  return { store, other, primary, standby, states };
}

describe('promotion failures', () => {
  it('a throwing promotionStores() aborts the promotion: the node follows again and may retry', async () => {
    let fail = true;
    const { store, other, primary, standby } = await setup({
      promotionStores: async () => {
        if (fail) throw new Error('writer handles unavailable');
        return [store, other];
      },
    });
    await expect(standby.promote()).rejects.toThrow('writer handles unavailable');
    expect(standby.status.state).toBe('syncing');
    expect(standby.status.lastPromotionError).toBe('writer handles unavailable');
    expect(await store.currentEpoch()).toBe(1n); // nothing was fenced
    await primary.append(op(4));
    await until(() => standby.status.appliedSeq === 5n, 'following again');
    fail = false;
    const writer = await standby.promote();
    expect(writer.epoch).toBe(2n);
    await standby.stop();
  });

  it('leaderless retries reuse the fenced epoch: one promote(), one epoch', async () => {
    let failures = 5;
    const { store, other, standby, states } = await setup({
      onTakeover: async () => {
        if (failures-- > 0) throw new Error('injected failure after the fence');
      },
    });
    const writer = await standby.promote();
    expect(states.filter((s) => s === 'leaderless').length).toBe(5);
    expect(standby.status.promotionAttempts).toBe(6);
    expect(writer.epoch).toBe(2n);
    expect(await store.currentEpoch()).toBe(2n);
    expect(await other.currentEpoch()).toBe(2n);
    expect(await writer.append(op(4))).toBe(5n);
    await standby.stop();
  });

  it('a fence that only some stores took is after the fence: leaderless, finished at that epoch', async () => {
    const { store, other, primary, standby } = await setup();
    other.fenceDown = true;
    const promoting = standby.promote();
    await until(() => standby.status.state === 'leaderless', 'leaderless');
    // The old writer needs every store: fenced by one, it can no longer write. The store
    // not yet fenced took its record, so the op is unknown, not failed (reconcile keeps it).
    await expect(primary.append(op(99))).rejects.toBeInstanceOf(UnknownOutcomeError);
    expect(primary.state).toBe('stopped');
    expect(await store.currentEpoch()).toBe(2n);
    expect(await other.currentEpoch()).toBe(1n);
    other.fenceDown = false;
    const writer = await promoting;
    expect(writer.epoch).toBe(2n);
    expect(await other.currentEpoch()).toBe(2n);
    await standby.stop();
  });

  it('a fence that landed but whose reply was lost is after the fence: leaderless, finished at that epoch', async () => {
    const { store, other, primary, standby, states } = await setup();
    // Both fences land and both replies are lost: the old writer is fenced all the same.
    store.fenceRepliesLost = 1;
    other.fenceRepliesLost = 1;
    const before = states.length;
    const writer = await standby.promote();
    expect(states.slice(before)).toContain('leaderless');
    expect(states.slice(before)).not.toContain('syncing'); // not "aborted, nothing fenced"
    await expect(primary.append(op(99))).rejects.toThrow();
    expect(writer.epoch).toBe(2n);
    expect(await store.currentEpoch()).toBe(2n);
    expect(await other.currentEpoch()).toBe(2n);
    await standby.stop();
  });

  it('stop() ends the leaderless loop, also mid backoff: no attempt and no epoch after it', async () => {
    const { store, standby } = await setup({
      leaderlessRetryMs: 50,
      onTakeover: async () => {
        throw new Error('never takes over');
      },
    });
    const promoting = standby.promote();
    let settled = false;
    promoting.catch(() => undefined).finally(() => (settled = true));
    await until(() => standby.status.promotionAttempts >= 3, 'three attempts');
    await standby.stop();
    // stop() waits for the loop to end: by now promote() has given up.
    await until(() => settled, 'promote() settled', 2_000);
    await expect(promoting).rejects.toBeInstanceOf(ClosedError);
    expect(standby.status.state).toBe('stopped');
    // Every attempt reused the one fenced epoch.
    expect(await store.currentEpoch()).toBe(2n);
    expect(standby.primary).toBeUndefined();
  });

  it('a claim overtaken by a newer epoch is not fought over: fenced, stopped', async () => {
    let newer: PrimaryWriter | undefined;
    const { store, other, standby } = await setup({
      onTakeover: async () => {
        // Another node promotes while this one is leaderless.
        newer ??= await PrimaryWriter.start({ stores: [store, other], compression });
        throw new Error('injected failure after the fence');
      },
    });
    const fenced: StandbyEventMap['fenced'][] = [];
    standby.events.on('fenced', (e) => fenced.push(e));
    await expect(standby.promote()).rejects.toBeInstanceOf(FencedError);
    expect(standby.status.state).toBe('stopped');
    expect(fenced).toMatchObject([{ epoch: 2n }]);
    expect(newer!.epoch).toBe(3n);
    expect(await store.currentEpoch()).toBe(3n);
    expect(await newer!.append(op(4))).toBe(5n);
    await standby.stop();
    await newer!.close();
  });
});

describe('a promoted node fenced by a newer primary', () => {
  it('reports it: fenced event, state stopped, waiters told, lastError set', async () => {
    const { store, other, standby } = await setup();
    const fenced: StandbyEventMap['fenced'][] = [];
    standby.events.on('fenced', (e) => fenced.push(e));
    const writer = await standby.promote();
    expect(standby.status.state).toBe('primary');
    const newer = await PrimaryWriter.start({ stores: [store, other], compression });
    await expect(writer.append(op(4))).rejects.toBeInstanceOf(FencedError);
    await until(() => standby.status.state === 'stopped', 'stopped');
    expect(fenced).toMatchObject([{ epoch: 2n }]);
    expect(standby.status.lastError).toMatch(/epoch 2 is fenced/);
    await expect(standby.waitForApplied(100n)).rejects.toThrow('standby stopped');
    await standby.stop();
    await newer.close();
  });
});
