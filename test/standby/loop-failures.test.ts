/**
 * Every background loop failure reaches the standby's lifecycle and its events
 * (issue 12 items 6 and 11): a state machine that throws fails the node closed with
 * the error in status; a source whose subscription throws degrades it and it
 * resubscribes by itself; a skipped range is an event and a warning; a lifecycle event
 * the table refuses is logged, not dropped; reads outside syncing/watching/primary are
 * flagged stale (or refused). Real timers: every wait is on a condition.
 */
import { describe, expect, it } from 'vitest';
import { FencedError, StaleReadError } from '../../src/core/errors.js';
import type { Entry, Op, Seq } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { Standby, type StandbyEventMap, type StandbyOptions } from '../../src/standby/standby.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import type { LogStore, Subscription, SubscriptionEvent } from '../../src/stores/log-store.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { testCompression } from '../helpers/entries.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { CheckedKv, until } from '../helpers/waiting.js';

const compression = testCompression();
const op = (i: number): Op => ({ type: 'put', key: `k${i}`, value: new TextEncoder().encode(`v${i}`) });

/** A state machine that throws when it is handed `badSeq`. */
class BrokenAt extends CheckedKv {
  constructor(private readonly badSeq: bigint) {
    super();
  }
  override apply(entry: Entry): void {
    if (entry.seq === this.badSeq) throw new Error(`cannot apply seq ${entry.seq}`);
    super.apply(entry);
  }
}

/** A source whose next `failures` subscriptions throw a plain Error after their first event. */
class ThrowingSubscriptions implements Pick<LogStore, 'subscribe'> {
  failures = 0;
  constructor(private readonly inner: LogStore) {}
  subscribe(fromSeq: Seq): Subscription {
    const sub = this.inner.subscribe(fromSeq);
    if (this.failures <= 0) return sub;
    this.failures--;
    async function* broken(): AsyncGenerator<SubscriptionEvent> {
      yield { type: 'visibility', visibility: 'visible' };
      throw new TypeError('adapter bug: cannot read properties of undefined');
    }
    sub.close();
    const it = broken();
    return { close: () => void it.return(undefined), [Symbol.asyncIterator]: () => it };
  }
}

function record<K extends keyof StandbyEventMap>(
  standby: Standby<PrimaryWriter>,
  name: K,
): StandbyEventMap[K][] {
  const seen: StandbyEventMap[K][] = [];
  standby.events.on(name, (payload) => seen.push(payload));
  return seen;
}

async function setup(extra: Partial<StandbyOptions<PrimaryWriter>> = {}) {
  const store = new FlakyStore(new MemoryLogStore());
  const primary = await PrimaryWriter.start({ stores: [store], compression, limits: { batchEntriesMax: 8 } });
  const warnings: string[] = [];
  const standby = new Standby<PrimaryWriter>({
    startWriter: startPrimaryWriter,
    source: store,
    stateMachine: new CheckedKv(),
    compression,
    tickMs: 5,
    applier: { gapRequestDelayMs: 10, skipTimeoutMs: 60, fetchBackoffMs: 10 },
    warn: (message) => warnings.push(message),
    ...extra,
  });
  return { store, primary, standby, warnings };
}

describe('standby loop failures reach the lifecycle', () => {
  it('a state machine that throws fails the node closed, with the error in status and an event', async () => {
    const kv = new BrokenAt(12n);
    const { primary, standby, warnings } = await setup({ stateMachine: kv });
    const failures = record(standby, 'loop-failed');
    standby.start();
    await primary.appendMany(Array.from({ length: 8 }, (_, i) => op(i)));
    await until(() => standby.status.state === 'watching' && standby.status.appliedSeq === 8n, 'watching');
    const waiting = standby.waitForApplied(20n);
    await primary.appendMany(Array.from({ length: 12 }, (_, i) => op(8 + i)));
    await until(() => standby.status.state === 'failed', 'failed');
    await expect(waiting).rejects.toThrow('standby failed before seq 20');
    expect(standby.status.lastError).toBe('cannot apply seq 12');
    expect(failures).toMatchObject([{ loop: 'apply', outcome: 'failed' }]);
    expect(warnings).toEqual(['standby apply failed (cannot apply seq 12): failed closed']);
    expect(kv.seqs.at(-1)).toBe(11n);
    expect(() => standby.read((sm) => sm.hash())).toThrow(StaleReadError);
    await standby.stop();
    expect(standby.status.state).toBe('stopped');
    await primary.close();
  });

  it('a subscription that throws degrades the node, which resubscribes and catches up by itself', async () => {
    const memory = new MemoryLogStore();
    const throwing = new ThrowingSubscriptions(memory);
    const source: LogStore = Object.assign(Object.create(memory) as LogStore, {
      subscribe: (from: Seq) => throwing.subscribe(from),
    });
    const primary = await PrimaryWriter.start({ stores: [memory], compression });
    const kv = new CheckedKv();
    const standby = new Standby<PrimaryWriter>({
      startWriter: startPrimaryWriter,
      source,
      stateMachine: kv,
      compression,
      tickMs: 5,
    });
    const failures = record(standby, 'loop-failed');
    const states = record(standby, 'state-changed');
    await primary.appendMany(Array.from({ length: 10 }, (_, i) => op(i)));
    throwing.failures = 2;
    standby.start();
    await until(() => failures.length === 2, 'two failed subscriptions');
    await until(() => standby.status.state === 'watching' && standby.status.appliedSeq === 10n, 'recovered');
    expect(failures.map((f) => [f.loop, f.outcome])).toEqual([
      ['follow', 'degraded'],
      ['follow', 'degraded'],
    ]);
    expect(states.map((s) => s.to)).toContain('degraded');
    expect(standby.status.lastError).toBe('adapter bug: cannot read properties of undefined');
    await primary.appendMany(Array.from({ length: 5 }, (_, i) => op(10 + i)));
    await standby.waitForApplied(15n);
    expect(kv.seqs).toEqual(Array.from({ length: 15 }, (_, i) => BigInt(i + 1)));
    await standby.stop();
    await primary.close();
  });

  it('a skipped range is an event and a warning, and counted', async () => {
    const { store, primary, standby, warnings } = await setup({
      applier: { gapRequestDelayMs: 10, skipTimeoutMs: 60, fetchBackoffMs: 10, skipPolicy: 'skip' },
    });
    const skipped = record(standby, 'range-skipped');
    standby.start();
    await primary.appendMany(Array.from({ length: 8 }, (_, i) => op(i)));
    await until(() => standby.status.appliedSeq === 8n, 'first batch');
    store.hide.add(9n);
    await primary.appendMany(Array.from({ length: 16 }, (_, i) => op(8 + i)));
    await until(() => standby.status.divergent && standby.status.appliedSeq === 24n, 'skip');
    const range = standby.status.skipped[0]!;
    expect(range.fromSeq).toBe(9n);
    expect(skipped).toEqual([{ fromSeq: 9n, toSeq: range.toSeq }]);
    expect(standby.status.skippedEntries).toBe(range.toSeq - 8n);
    expect(warnings).toContain(
      `standby skipped seqs 9..${range.toSeq} (${range.toSeq - 8n} entries): divergent`,
    );
    await standby.stop();
    await primary.close();
  });

  it('a lifecycle event the table refuses is logged and published (a failed primary fenced later)', async () => {
    const kv = new BrokenAt(3n);
    const { store, primary, standby, warnings } = await setup({ stateMachine: kv, warningIntervalMs: 0 });
    const rejected = record(standby, 'transition-rejected');
    standby.start();
    await primary.append(op(1));
    await until(() => standby.status.state === 'watching', 'watching');
    const writer = await standby.promote();
    await writer.append(op(2));
    await writer.append(op(3)); // the node's own follow loop cannot apply it: failed
    await until(() => standby.status.state === 'failed', 'failed');
    const newer = await PrimaryWriter.start({ stores: [store], compression });
    await expect(writer.append(op(4))).rejects.toBeInstanceOf(FencedError);
    await until(() => rejected.length > 0, 'the rejection');
    expect(rejected).toEqual([
      { state: 'failed', event: 'fenced', reason: 'event fenced is not accepted in state failed' },
    ]);
    expect(warnings).toContain('standby lifecycle: event fenced is not accepted in state failed');
    expect(standby.status.state).toBe('failed');
    await standby.stop();
    await newer.close();
  });
});

describe('standby reads', () => {
  it('are flagged stale when halted, failed or stopped (refused under deny), like degraded', async () => {
    const { store, primary, standby } = await setup({
      staleReads: 'allow',
      applier: { gapRequestDelayMs: 10, skipTimeoutMs: 60, fetchBackoffMs: 10, skipPolicy: 'halt' },
    });
    const denying = new Standby<PrimaryWriter>({
      startWriter: startPrimaryWriter,
      source: store,
      stateMachine: new KvStateMachine(),
      compression,
      tickMs: 5,
    });
    standby.start();
    denying.start();
    await primary.appendMany(Array.from({ length: 8 }, (_, i) => op(i)));
    await until(() => standby.status.state === 'watching' && denying.status.state === 'watching', 'watching');
    expect(standby.read((sm) => sm.hash()).stale).toBe(false);
    store.hide.add(9n);
    await primary.appendMany(Array.from({ length: 16 }, (_, i) => op(8 + i)));
    await until(() => standby.status.state === 'halted', 'halted');
    expect(standby.read((sm) => sm.hash()).stale).toBe(true);
    await standby.stop();
    expect(standby.read((sm) => sm.hash()).stale).toBe(true);
    await denying.stop();
    expect(() => denying.read((sm) => sm.hash())).toThrow(StaleReadError);
    await primary.close();
  });
});
