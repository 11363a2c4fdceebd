/**
 * The node supervisor (src/node/node.ts) owns one node's roles: a started primary runs
 * a writer and reports its fence; a standby builds its writer on promotion through the
 * injected factory (so `standby/` knows no role); one NodeStatus whatever the role; and
 * the typed events — state changed, range skipped, fenced, writer stopped, record
 * corrupt, loop failed (also a failed failover attempt) — reach a listener of the node.
 * Memory stores and an in-memory election (the port), real timers: every wait is on a
 * condition.
 */
import { describe, expect, it } from 'vitest';
import { FencedError, StoreUnavailableError } from '../../src/core/errors.js';
import type { Op, Seq } from '../../src/core/types.js';
import { OplogNode, type NodeOptions } from '../../src/node/node.js';
import type { NodeEventMap, NodeEventName } from '../../src/node/node-events.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import type { Election } from '../../src/stores/election.js';
import type { WriterStartOptions } from '../../src/standby/writer-port.js';
import type { LogStore, Subscription, SubscriptionEvent } from '../../src/stores/log-store.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { testCompression } from '../helpers/entries.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { CheckedKv, until } from '../helpers/waiting.js';

const compression = testCompression();
const op = (i: number): Op => ({ type: 'put', key: `k${i}`, value: new TextEncoder().encode(`v${i}`) });

function record<K extends NodeEventName>(node: OplogNode, name: K): NodeEventMap[K][] {
  const seen: NodeEventMap[K][] = [];
  node.events.on(name, (payload) => seen.push(payload));
  return seen;
}

/** Serves the record starting at `badSeq` with one flipped byte on subscriptions. */
class CorruptingSource {
  constructor(
    private readonly inner: LogStore,
    private readonly badSeq: bigint,
  ) {}
  wrap(): LogStore {
    const inner = this.inner;
    const badSeq = this.badSeq;
    const store = Object.create(inner) as LogStore;
    return Object.assign(store, {
      kind: `corrupting ${inner.kind}`,
      subscribe(fromSeq: Seq): Subscription {
        const sub = inner.subscribe(fromSeq);
        async function* flipped(): AsyncGenerator<SubscriptionEvent> {
          for await (const event of sub) {
            if (event.type === 'record' && event.record.firstSeq === badSeq) {
              const bytes = Uint8Array.from(event.record.bytes);
              bytes[bytes.length - 1]! ^= 0xff;
              yield { type: 'record', record: { ...event.record, bytes } };
            } else yield event;
          }
        }
        const it = flipped();
        return { close: () => sub.close(), [Symbol.asyncIterator]: () => it };
      },
    });
  }
}

describe('node supervisor', () => {
  it('a started primary: starting → primary; fenced by a newer writer: writer-stopped, fenced, stopped', async () => {
    const store = new MemoryLogStore();
    const node = new OplogNode({ role: 'primary', primary: { stores: [store], compression } });
    const states = record(node, 'state-changed');
    const stopped = record(node, 'writer-stopped');
    const fenced = record(node, 'fenced');
    expect(node.status).toMatchObject({ role: 'primary', state: 'starting', writing: false });
    await node.start();
    expect(node.status).toMatchObject({ state: 'primary', writing: true, epoch: 1n, appliedSeq: undefined });
    expect(await node.writer!.append(op(1))).toBe(1n);

    const newer = await PrimaryWriter.start({ stores: [store], compression });
    await expect(node.writer!.append(op(2))).rejects.toBeInstanceOf(FencedError);
    await until(() => node.status.state === 'stopped', 'stopped');
    expect(node.status).toMatchObject({ state: 'stopped', writing: false, error: 'OPLOG_FENCED' });
    expect(states.map((s) => `${s.from}→${s.to} (${s.event})`)).toEqual([
      'starting→primary (started)',
      'primary→stopped (fenced)',
    ]);
    expect(stopped).toHaveLength(1);
    expect(stopped[0]!.epoch).toBe(1n);
    expect(stopped[0]!.error).toBeInstanceOf(FencedError);
    expect(fenced).toHaveLength(1);
    await expect(node.promote()).rejects.toMatchObject({ blockers: ['not_a_standby'] });
    await newer.close();
    await node.stop();
  });

  it('a standby builds its writer through the injected factory; its fence is published', async () => {
    const store = new MemoryLogStore();
    const primary = await PrimaryWriter.start({ stores: [store], compression });
    await primary.appendMany([op(1), op(2), op(3)]);
    const started: WriterStartOptions[] = [];
    const options: NodeOptions = {
      role: 'standby',
      standby: { source: store, stateMachine: new CheckedKv(), compression, tickMs: 5 },
      startWriter: (start) => (started.push(start), startPrimaryWriter(start)),
    };
    const node = new OplogNode(options);
    const states = record(node, 'state-changed');
    const stopped = record(node, 'writer-stopped');
    const fenced = record(node, 'fenced');
    await node.start();
    await until(() => node.status.state === 'watching' && node.status.appliedSeq === 3n, 'caught up');
    expect(started).toHaveLength(0);

    const writer = await node.promote();
    expect(started).toHaveLength(1);
    expect(node.writer).toBe(writer);
    expect(node.status).toMatchObject({ role: 'standby', state: 'primary', writing: true, epoch: 2n });
    expect(states.map((s) => s.to)).toContain('promoting');
    expect(await writer.append(op(4))).toBe(4n);

    const newer = await PrimaryWriter.start({ stores: [store], compression });
    await expect(writer.append(op(5))).rejects.toBeInstanceOf(FencedError);
    await until(() => node.status.state === 'stopped', 'stopped');
    expect(stopped.map((s) => s.epoch)).toEqual([2n]);
    expect(fenced.map((f) => f.epoch)).toEqual([2n]); // the epoch that was fenced
    expect(node.status).toMatchObject({ writing: false, error: 'OPLOG_FENCED' });
    await newer.close();
    await primary.close();
    await node.stop();
  });

  it('republishes record-corrupt, range-skipped and loop-failed from the standby', async () => {
    const clean = new MemoryLogStore();
    const primary = await PrimaryWriter.start({
      stores: [clean],
      compression,
      limits: { batchEntriesMax: 1 },
    });
    for (let i = 1; i <= 6; i++) await primary.append(op(i));
    const hidden = new FlakyStore(clean);
    hidden.hide.add(5n); // seq 5 is nowhere this node reads: skipped
    const node = new OplogNode({
      role: 'standby',
      standby: {
        source: new CorruptingSource(hidden, 2n).wrap(),
        fetchStore: hidden,
        stateMachine: new CheckedKv(),
        compression,
        tickMs: 5,
        applier: { skipPolicy: 'skip', gapRequestDelayMs: 5, skipTimeoutMs: 50 },
      },
    });
    const corrupt = record(node, 'record-corrupt');
    const skipped = record(node, 'range-skipped');
    await node.start();
    await until(() => node.status.appliedSeq === 6n, 'applied past the skip');
    expect(corrupt[0]).toMatchObject({ seq: 2n, store: 'corrupting flaky memory' });
    expect(skipped).toEqual([{ fromSeq: 5n, toSeq: 5n }]);
    expect(node.status.standby).toMatchObject({ divergent: true, corruptRecords: 1 });

    // A state machine that throws fails the node closed: loop-failed reaches the node.
    const broken = new OplogNode({
      role: 'standby',
      standby: {
        source: clean,
        compression,
        tickMs: 5,
        stateMachine: Object.assign(new CheckedKv(), {
          apply: () => {
            throw new Error('broken state machine');
          },
        }),
      },
    });
    const brokenFailures = record(broken, 'loop-failed');
    await broken.start();
    await until(() => broken.status.state === 'failed', 'failed closed');
    expect(brokenFailures[0]).toMatchObject({ loop: 'apply', outcome: 'failed' });
    await Promise.all([node.stop(), broken.stop(), primary.close()]);
  });

  it('automatic failover over the election port: a vacancy promotes; an election error is a loop-failed event', async () => {
    const store = new MemoryLogStore();
    const primary = await PrimaryWriter.start({ stores: [store], compression });
    await primary.appendMany([op(1), op(2)]);
    const election = new MemoryElection();
    const node = new OplogNode({
      role: 'standby',
      standby: { source: store, stateMachine: new CheckedKv(), compression, tickMs: 5 },
      election,
      failover: { baseDelayMs: 1, retryMs: 5 },
    });
    const failed = record(node, 'loop-failed');
    election.holder = 'primary';
    election.failing = 2; // the election's store does not answer twice
    await node.start();
    await until(() => failed.length === 2, 'two failed failover attempts');
    expect(failed.every((f) => f.loop === 'failover' && f.outcome === 'retrying')).toBe(true);
    expect(failed[0]!.error).toBeInstanceOf(StoreUnavailableError);
    await until(() => node.status.failover?.lastOutcome === 'held', 'the key is held');
    await until(() => node.status.state === 'watching', 'caught up');

    election.vacate(); // the primary's lease expired
    await until(() => node.status.state === 'primary', 'promoted', 10_000);
    expect(election.holder).toBe('standby');
    expect(node.status).toMatchObject({ writing: true, epoch: 2n, failover: { lastOutcome: 'promoted' } });
    await node.stop();
    expect(election.closed).toBe(true);
    await primary.close().catch(() => undefined);
  });
});

/** The election port in memory: one holder, a vacancy callback, injected failures. */
class MemoryElection implements Election {
  holder: string | undefined;
  failing = 0;
  closed = false;
  private readonly watchers: (() => void)[] = [];

  private maybeFail(operation: string): void {
    if (this.failing <= 0) return;
    this.failing--;
    throw new StoreUnavailableError(operation, {}, { cause: new Error('injected') });
  }
  async campaign({ force = false }: { force?: boolean } = {}): Promise<boolean> {
    this.maybeFail('memory campaign');
    if (this.holder !== undefined && !force) return false;
    this.holder = 'standby';
    return true;
  }
  async resign(): Promise<void> {
    this.vacate();
  }
  async isVacant(): Promise<boolean> {
    this.maybeFail('memory election read');
    return this.holder === undefined;
  }
  async watchVacancy(onVacant: () => void): Promise<void> {
    this.watchers.push(onVacant);
  }
  vacate(): void {
    this.holder = undefined;
    for (const watcher of this.watchers) watcher();
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}
