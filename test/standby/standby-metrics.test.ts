/**
 * The standby reports through the Metrics port (src/standby/standby-metrics.ts) what
 * happened to it: head, applied and lag gauges move with the log and the (injected)
 * clock; a hidden record is a gap counted opened, then filled once fetched from the
 * other store, or skipped; a damaged record, or a store that reports one, counts a
 * checksum failure under that store's kind; a record delivered twice counts its
 * entries as duplicates dropped; a resubscribe and a subscription visible again after
 * blind count reconnects; the state gauge is 1 for exactly the current state; a fence,
 * the epoch, is_primary, divergence and a snapshot are reported. A fake that records calls stands in for
 * prom-client. Core time is injected; the shell's loops run on real timers, and every
 * wait is on a condition (test/helpers/waiting.ts).
 */
import { describe, expect, it } from 'vitest';
import { CorruptStoreError, FencedError } from '../../src/core/errors.js';
import { HEADER_BYTES, type BatchRecord, type VerifiedRecord } from '../../src/core/record-codec.js';
import { STANDBY_STATES } from '../../src/core/standby-state.js';
import { RecordingMetrics } from '../helpers/recording-metrics.js';
import { epoch as toEpoch, type Epoch, type Head, type Seq } from '../../src/core/types.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import type { SnapshotManifest } from '../../src/snapshot/snapshot-store.js';
import { Standby, type StandbyOptions } from '../../src/standby/standby.js';
import type { LogStore, Subscription, SubscriptionEvent } from '../../src/stores/log-store.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { makeRecord, testCompression } from '../helpers/entries.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { CheckedKv, until } from '../helpers/waiting.js';

const compression = testCompression();
/** Entries carry ts = T0 + seq (test/helpers/entries.ts). */
const T0 = 1_700_000_000_000;

class StandbyMetrics extends RecordingMetrics {
  /** The states whose `oplog_state` series is 1. */
  statesAtOne(): string[] {
    return STANDBY_STATES.filter((state) => this.get('oplog_state', { state }) === 1);
  }
}

/**
 * A source with delivery faults on its subscription, over a FlakyStore (`hide`, `down`):
 * a record delivered twice, delivered damaged (one body byte flipped after the store
 * verified it: decoding fails), or reported corrupt by the store (CorruptStoreError),
 * each once, by first seq.
 */
class FaultySource implements LogStore {
  readonly kind: string;
  readonly repeat = new Set<bigint>();
  readonly damage = new Set<bigint>();
  readonly reportCorrupt = new Set<bigint>();

  constructor(readonly flaky: FlakyStore) {
    this.kind = flaky.kind;
  }

  subscribe(fromSeq: Seq): Subscription {
    const inner = this.flaky.subscribe(fromSeq);
    const events = async function* (this: FaultySource): AsyncGenerator<SubscriptionEvent> {
      for await (const event of inner) {
        const firstSeq = event.type === 'record' ? event.record.firstSeq : undefined;
        if (event.type !== 'record' || firstSeq === undefined) yield event;
        else if (this.reportCorrupt.delete(firstSeq))
          throw new CorruptStoreError(`${this.kind} record`, firstSeq, 'record checksum mismatch');
        else if (this.damage.delete(firstSeq)) yield { type: 'record', record: damaged(event.record) };
        else {
          yield event;
          if (this.repeat.delete(firstSeq)) yield event;
        }
      }
    }.call(this);
    return {
      close: () => {
        inner.close();
        void events.return(undefined);
      },
      [Symbol.asyncIterator]: () => events,
    };
  }

  append(record: BatchRecord, epoch: Epoch): Promise<void> {
    return this.flaky.append(record, epoch);
  }
  read(fromSeq: Seq, limitRecords?: number): AsyncIterable<VerifiedRecord> {
    return this.flaky.read(fromSeq, limitRecords);
  }
  head(): Promise<Head> {
    return this.flaky.head();
  }
  currentEpoch(): Promise<Epoch> {
    return this.flaky.currentEpoch();
  }
  fence(epoch: Epoch): Promise<void> {
    return this.flaky.fence(epoch);
  }
  truncateBefore(seq: Seq): Promise<void> {
    return this.flaky.truncateBefore(seq);
  }
  close(): Promise<void> {
    return this.flaky.close();
  }
}

async function* corruptRead(fromSeq: Seq): AsyncGenerator<VerifiedRecord> {
  yield* [];
  throw new CorruptStoreError('copy record', fromSeq, 'record checksum mismatch');
}

/** `{ [name]: value }`, or nothing when undefined (exactOptionalPropertyTypes). */
function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [name]: value } as { [P in K]: V });
}

function damaged(record: VerifiedRecord): VerifiedRecord {
  const bytes = record.bytes.slice();
  bytes[HEADER_BYTES + Math.floor((bytes.length - HEADER_BYTES) / 2)]! ^= 0x40;
  return { ...record, bytes } as VerifiedRecord;
}

/**
 * A memory log at epoch 1, a faulty source over it, and a standby on an injected clock
 * that fetches gaps from `fetchStore(memory)`: by default the memory store itself (a
 * good copy); undefined fetches from the source.
 */
async function setup(
  extra: Partial<StandbyOptions<PrimaryWriter>> = {},
  fetchStore: (memory: MemoryLogStore) => LogStore | undefined = (memory) => memory,
) {
  const memory = new MemoryLogStore();
  await memory.fence(toEpoch(1n));
  const source = new FaultySource(new FlakyStore(memory));
  const metrics = new StandbyMetrics();
  const clock = { nowMs: T0 + 1_000 };
  const kv = new CheckedKv();
  const standby = new Standby<PrimaryWriter>({
    startWriter: startPrimaryWriter,
    source,
    ...optional('fetchStore', fetchStore(memory)),
    stateMachine: kv,
    compression,
    tickMs: 5,
    nowMs: () => clock.nowMs,
    applier: { gapRequestDelayMs: 100, skipTimeoutMs: 1_000, fetchBackoffMs: 100 },
    metrics,
    ...extra,
  });
  let nextSeq = 1n;
  /**
   * Appends one record of 8 entries, first marked in `fault` (hide, damage, …) so that
   * the subscription never sees it unmarked.
   */
  const append = async (fault?: Set<bigint>) => {
    const firstSeq = nextSeq;
    nextSeq += 8n;
    fault?.add(firstSeq);
    await source.append(makeRecord(firstSeq, 8, 1n, compression), toEpoch(1n));
  };
  return { memory, source, metrics, clock, kv, standby, append };
}

const gaps = (metrics: StandbyMetrics, outcome: string) => metrics.get('oplog_gaps_total', { outcome });

describe('standby metrics', () => {
  it('moves applied, head and lag with the log and the clock; a hidden record is a gap opened, then filled', async () => {
    const { source, metrics, clock, kv, standby, append } = await setup();
    expect(metrics.statesAtOne()).toEqual(['starting']);
    expect(gaps(metrics, 'opened')).toBe(0);
    standby.start();
    await append();
    await until(() => metrics.get('oplog_applied_seq') === 8, 'first record applied');
    expect(metrics.get('oplog_head_seq')).toBe(8);
    expect(metrics.get('oplog_replication_lag_entries')).toBe(0);
    expect(metrics.get('oplog_replication_lag_seconds')).toBe(0);
    expect(metrics.get('oplog_epoch')).toBe(1);

    await append(source.flaky.hide); // seqs 9..16 never reach the subscription
    await append();
    await until(() => metrics.get('oplog_head_seq') === 24, 'the record past the hole');
    expect(gaps(metrics, 'opened')).toBe(1);
    expect(metrics.get('oplog_applied_seq')).toBe(8);
    expect(metrics.get('oplog_replication_lag_entries')).toBe(16);
    expect(metrics.get('oplog_pending_entries')).toBe(8);
    expect(metrics.get('oplog_pending_bytes')).toBeGreaterThan(8 * 64);
    clock.nowMs += 50;
    await until(() => metrics.get('oplog_replication_lag_seconds') === (1_050 - 8) / 1000, 'a tick');
    expect(metrics.statesAtOne()).toEqual([standby.status.state]);

    clock.nowMs += 100; // past gapRequestDelayMs: the tick fetches 9..16 from memory
    await until(() => metrics.get('oplog_applied_seq') === 24, 'the gap filled');
    expect(gaps(metrics, 'filled')).toBe(1);
    expect(gaps(metrics, 'skipped')).toBe(0);
    expect(metrics.get('oplog_replication_lag_entries')).toBe(0);
    expect(metrics.get('oplog_replication_lag_seconds')).toBe(0);
    expect(metrics.get('oplog_pending_entries')).toBe(0);
    expect(metrics.get('oplog_pending_bytes')).toBe(0);
    expect(kv.seqs).toEqual(Array.from({ length: 24 }, (_, i) => BigInt(i + 1)));
    await standby.stop();
    expect(metrics.statesAtOne()).toEqual(['stopped']);
  });

  it('a gap with no good copy anywhere is counted skipped, and the node is divergent', async () => {
    const { source, metrics, clock, standby, append } = await setup(
      { applier: { skipPolicy: 'skip', gapRequestDelayMs: 100, skipTimeoutMs: 1_000, fetchBackoffMs: 100 } },
      () => undefined,
    );
    standby.start();
    await append();
    await append(source.flaky.hide);
    await append();
    await until(() => gaps(metrics, 'opened') === 1, 'the gap seen');
    expect(metrics.get('oplog_divergent')).toBe(0);
    clock.nowMs += 1_000;
    await until(() => metrics.get('oplog_applied_seq') === 24, 'skipped past the gap');
    expect(gaps(metrics, 'skipped')).toBe(1);
    expect(gaps(metrics, 'filled')).toBe(0);
    expect(standby.status.divergent).toBe(true);
    expect(metrics.get('oplog_divergent')).toBe(1);
    await standby.stop();
  });

  it('a damaged or reported-corrupt record counts a checksum failure under its store, and is repaired', async () => {
    const { source, metrics, clock, kv, standby, append } = await setup();
    const store = { store: source.kind };
    expect(metrics.get('oplog_checksum_failures_total', store)).toBe(0);
    expect(metrics.get('oplog_checksum_failures_total', { store: 'memory' })).toBe(0);
    standby.start();
    await append();
    await until(() => metrics.get('oplog_applied_seq') === 8, 'first record applied');

    await append(source.damage); // decoding fails in the standby
    await until(() => metrics.get('oplog_checksum_failures_total', store) === 1, 'the damaged record');
    clock.nowMs += 150; // the damaged record's seqs are a gap: fetched from memory
    await until(() => metrics.get('oplog_applied_seq') === 16, 'repaired');

    await append(source.reportCorrupt); // the store's own verification failed
    await until(() => metrics.get('oplog_applied_seq') === 24, 'fetched from memory, resubscribed');
    expect(metrics.get('oplog_checksum_failures_total', store)).toBe(2);
    expect(metrics.get('oplog_checksum_failures_total', { store: 'memory' })).toBe(0);
    await until(() => metrics.get('oplog_reconnects_total', store) === 1, 'the resubscribe counted');
    expect(standby.status.corruptRecords).toBe(2);
    expect([gaps(metrics, 'opened'), gaps(metrics, 'filled')]).toEqual([2, 2]);
    expect(kv.seqs).toEqual(Array.from({ length: 24 }, (_, i) => BigInt(i + 1)));
    await standby.stop();
  });

  it('a fetch store serving a damaged copy counts under its own kind, once per fetch', async () => {
    let damagedCopy = true;
    const copyOf = (memory: MemoryLogStore): LogStore =>
      Object.assign(Object.create(memory) as LogStore, {
        kind: 'copy',
        read: (fromSeq: Seq, limitRecords?: number) =>
          damagedCopy ? corruptRead(fromSeq) : memory.read(fromSeq, limitRecords),
      });
    const { source, metrics, clock, standby, append } = await setup({}, copyOf);
    expect(metrics.get('oplog_checksum_failures_total', { store: 'copy' })).toBe(0);
    standby.start();
    await append();
    await append(source.flaky.hide);
    await append();
    await until(() => gaps(metrics, 'opened') === 1, 'the gap seen');
    clock.nowMs += 100; // one fetch, probing several seqs: counted once
    await until(() => metrics.get('oplog_checksum_failures_total', { store: 'copy' }) === 1, 'the fetch');
    damagedCopy = false;
    clock.nowMs += 100; // the next fetch after its backoff reads a good copy
    await until(() => metrics.get('oplog_applied_seq') === 24, 'filled');
    expect(metrics.get('oplog_checksum_failures_total', { store: 'copy' })).toBe(1);
    expect(metrics.get('oplog_checksum_failures_total', { store: source.kind })).toBe(0);
    await standby.stop();
  });

  it('a record delivered twice counts its entries as duplicates dropped', async () => {
    const { source, metrics, kv, standby, append } = await setup();
    expect(metrics.get('oplog_duplicates_dropped_total')).toBe(0);
    standby.start();
    await append(source.repeat);
    await append();
    await until(() => metrics.get('oplog_applied_seq') === 16, 'both records applied');
    expect(metrics.get('oplog_duplicates_dropped_total')).toBe(8);
    expect(kv.seqs).toHaveLength(16);
    await standby.stop();
  });

  it('a subscription visible again after blind counts a reconnect; the state gauge follows degraded and back', async () => {
    const { source, metrics, standby, append } = await setup();
    const store = { store: source.kind };
    standby.start();
    await append();
    await until(() => standby.status.state === 'watching', 'watching');
    expect(metrics.statesAtOne()).toEqual(['watching']);
    source.flaky.down = true;
    await until(() => standby.status.state === 'degraded', 'degraded');
    expect(metrics.statesAtOne()).toEqual(['degraded']);
    expect(metrics.get('oplog_reconnects_total', store)).toBe(0);
    source.flaky.down = false;
    await append();
    await until(() => standby.status.state === 'watching' && standby.status.appliedSeq === 16n, 'back');
    expect(metrics.get('oplog_reconnects_total', store)).toBe(1);
    expect(metrics.statesAtOne()).toEqual(['watching']);
    await standby.stop();
  });

  it('reports the writer epoch and is_primary once primary, a fence, and a snapshot taken', async () => {
    const { memory, metrics, clock, standby, append } = await setup({}, () => undefined);
    standby.start();
    await append();
    await until(() => standby.status.state === 'watching', 'watching');
    const manifest = (lastSeq: bigint): SnapshotManifest =>
      ({ lastSeq, bodyBytes: 4_096 }) as unknown as SnapshotManifest;
    await standby.takeSnapshot({
      save: async (input) => {
        clock.nowMs += 250;
        return manifest(input.lastSeq);
      },
    });
    expect(metrics.observed.get('oplog_snapshot_duration_seconds{}')).toEqual([0.25]);
    expect(metrics.observed.get('oplog_snapshot_bytes{}')).toEqual([4_096]);
    expect(metrics.get('oplog_snapshot_last_seq')).toBe(8);
    expect(metrics.get('oplog_is_primary')).toBe(0);

    const writer = await standby.promote();
    await until(() => metrics.get('oplog_epoch') === Number(writer.epoch), 'the writer epoch');
    expect(writer.epoch).toBe(2n);
    expect(metrics.statesAtOne()).toEqual(['primary']);
    expect(metrics.get('oplog_is_primary')).toBe(1);
    expect(metrics.get('oplog_fenced_total')).toBe(0);
    const newer = await PrimaryWriter.start({ stores: [memory], compression });
    await expect(writer.append({ type: 'put', key: 'k', value: new Uint8Array(1) })).rejects.toBeInstanceOf(
      FencedError,
    );
    await until(() => metrics.get('oplog_fenced_total') === 1, 'the fence');
    expect(metrics.statesAtOne()).toEqual(['stopped']);
    expect(metrics.get('oplog_is_primary')).toBe(0);
    await standby.stop();
    await newer.close();
  });
});
