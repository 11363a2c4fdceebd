/**
 * However a writer stops (fenced by a newer primary, closed, a store down), no op is
 * told "failed" that may be in the log: an op whose record every store holds is
 * acknowledged, one that provably reached no store fails with the stop error, and every
 * other one gets UnknownOutcomeError with its seq (DESIGN.md "Interfaces"; Jepsen's
 * aborted read is a failed op that is visible afterwards).
 */
import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  FencedError,
  StoreUnavailableError,
  UnknownOutcomeError,
} from '../../src/core/errors.js';
import { decodeRecord, type BatchRecord } from '../../src/core/record-codec.js';
import { seq, type Epoch, type Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import type { LogStore } from '../../src/stores/log-store.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { collect } from '../contract/log-store.contract.js';
import { testCompression } from '../helpers/entries.js';
import { until } from '../helpers/waiting.js';

const compression = testCompression();
const encoder = new TextEncoder();
const op = (i: number): Op => ({ type: 'put', key: `k${i}`, value: encoder.encode(`op-${i}`) });

/** A memory store whose appends (of one epoch) can be held at a gate, and whose replies can be lost. */
class GatedStore extends MemoryLogStore {
  private gate: Promise<void> | undefined;
  private gatedEpoch: bigint | undefined;
  private open: (() => void) | undefined;
  /** 'lose-reply': write, then throw as if the reply was lost; 'down': throw before writing. */
  mode: 'ok' | 'lose-reply' | 'down' | 'fenced-mid-commit' = 'ok';
  /** Refuse an old epoch before looking for a duplicate, as a fenced Kafka producer does. */
  fenceFirst = false;
  appendCalls = 0;

  /** Holds appends under `epoch` (every epoch when none is given) until release(). */
  hold(epoch?: bigint): void {
    this.gatedEpoch = epoch;
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  override async append(record: BatchRecord, epoch: Epoch): Promise<void> {
    this.appendCalls++;
    if (this.gatedEpoch === undefined || this.gatedEpoch === epoch) await this.gate;
    if (this.mode === 'down') throw new StoreUnavailableError('gated append', {});
    const current = await this.currentEpoch();
    if (this.fenceFirst && epoch < current) throw new FencedError(epoch, current);
    await super.append(record, epoch);
    if (this.mode === 'fenced-mid-commit') throw new FencedError(epoch, epoch + 1n, { mayHaveLanded: true });
    if (this.mode === 'lose-reply') {
      this.mode = 'down';
      throw new StoreUnavailableError('gated append (reply lost)', {});
    }
  }
}

type Outcome =
  { kind: 'ok'; seq: bigint } | { kind: 'failed'; error: unknown } | { kind: 'unknown'; seq: bigint };

function record(promise: Promise<bigint>): Promise<Outcome> {
  return promise.then(
    (s) => ({ kind: 'ok', seq: s }),
    (error: unknown) =>
      error instanceof UnknownOutcomeError ? { kind: 'unknown', seq: error.seq } : { kind: 'failed', error },
  );
}

/** A writer over `stores` that cuts one record at a time (the first op alone), no store running ahead. */
const serialWriter = (...stores: GatedStore[]) =>
  PrimaryWriter.start({
    stores,
    compression,
    limits: { batchEntriesMax: 4, pipelineDepth: 1, runAheadBytesMax: 0 },
  });

/** Every value in the log, by its text. */
async function logValues(store: LogStore): Promise<Map<string, bigint>> {
  const values = new Map<string, bigint>();
  for (const r of await collect(store.read(seq(1n))))
    for (const e of decodeRecord(r.bytes, compression).entries)
      values.set(new TextDecoder().decode(e.value), e.seq);
  return values;
}

describe('a stopping writer answers every pending op by what the stores hold', () => {
  // Without run-ahead, a holds the 4 records in flight and the ops behind them fail;
  // with it, a runs ahead to every op, so all are unknown (and all in the log).
  it.each([
    [0, (records: number) => records === 4, true],
    [16 * 1024 * 1024, (_records: number, ops: number) => ops === 64, false],
  ])(
    'replaced by a new primary (run-ahead %i bytes, one store ahead): ops one store held are unknown (and in the log), none in the log failed',
    async (runAheadBytesMax, held, someFail) => {
      const a = new GatedStore();
      const b = new GatedStore();
      const old = await PrimaryWriter.start({
        stores: [a, b],
        compression,
        limits: { batchEntriesMax: 8, pipelineDepth: 4, lingerMs: 1, runAheadBytesMax },
      });
      b.fenceFirst = true;
      b.hold(old.epoch); // b sees none of the old writer's records before the fence
      const outcomes = Array.from({ length: 64 }, (_, i) => record(old.append(op(i))));
      await until(() => b.appendCalls >= 4, 'four records in flight to b');
      await until(
        async () => held((await collect(a.read(seq(1n)))).length, (await logValues(a)).size),
        'a to hold what it was sent',
      );
      // The new primary fences both stores and copies what a holds into b.
      const next = await PrimaryWriter.start({ stores: [a, b], compression });
      b.release();
      const results = await Promise.all(outcomes);
      await old.close();
      await next.close();

      const inLog = await logValues(b);
      const failed = results.flatMap((o, i) => (o.kind === 'failed' ? [i] : []));
      const unknown = results.flatMap((o, i) => (o.kind === 'unknown' ? [i] : []));
      expect(failed.filter((i) => inLog.has(`op-${i}`))).toEqual([]);
      for (const i of failed) expect((results[i] as { error: unknown }).error).toBeInstanceOf(FencedError);
      expect(unknown.length).toBeGreaterThan(0);
      expect(failed.length > 0).toBe(someFail);
      for (const i of unknown) expect(inLog.get(`op-${i}`)).toBe((results[i] as { seq: bigint }).seq);
      for (const [i, o] of results.entries()) if (o.kind === 'ok') expect(inLog.get(`op-${i}`)).toBe(o.seq);
    },
  );

  it('ops never cut into a record fail with the stop error; a record sent to a store that failed is unknown', async () => {
    const a = new GatedStore();
    const writer = await serialWriter(a);
    a.mode = 'down'; // unavailable proves nothing: a timed-out append may have landed
    const outcomes = Array.from({ length: 20 }, (_, i) => record(writer.append(op(i))));
    await until(() => a.appendCalls >= 2, 'a retried append');
    await writer.close({ drainMs: 20 });
    const results = await Promise.all(outcomes);
    // The first op is cut at once (nothing in flight); the rest wait for it, never cut.
    expect(results[0]).toEqual({ kind: 'unknown', seq: 1n });
    for (const o of results.slice(1)) {
      expect(o.kind).toBe('failed');
      expect((o as { error: unknown }).error).toBeInstanceOf(ClosedError);
    }
    expect((await a.head()).lastSeq).toBe(0n);
  });

  it('a record whose reply was lost is unknown, not failed, and it is in the store', async () => {
    const a = new GatedStore();
    const b = new GatedStore();
    const writer = await serialWriter(a, b);
    a.mode = 'lose-reply'; // the first append lands, its reply is lost, and a goes down
    const outcomes = Array.from({ length: 4 }, (_, i) => record(writer.append(op(i))));
    await until(() => a.appendCalls >= 2, 'a retried append');
    await writer.close({ drainMs: 20 });
    const results = await Promise.all(outcomes);
    expect(results.map((o) => o.kind)).toEqual(['unknown', 'failed', 'failed', 'failed']);
    expect(results[0]).toEqual({ kind: 'unknown', seq: 1n });
    expect((await a.head()).lastSeq).toBe(1n);
  });

  it('a fence met while committing (Kafka: EndTxn completed by the new producer) is unknown, not failed', async () => {
    const a = new GatedStore();
    const b = new GatedStore();
    const writer = await serialWriter(a, b);
    b.mode = 'fenced-mid-commit'; // b stores the record, then answers fenced
    const outcomes = Array.from({ length: 4 }, (_, i) => record(writer.append(op(i))));
    const results = await Promise.all(outcomes);
    expect(results[0]).toEqual({ kind: 'unknown', seq: 1n });
    for (const o of results.slice(1)) expect((o as { error: unknown }).error).toBeInstanceOf(FencedError);
    expect((await b.head()).lastSeq).toBe(1n);
    await writer.close();
  });

  it('a record every store holds only after the writer stopped is acknowledged, not failed', async () => {
    const a = new GatedStore();
    const b = new GatedStore();
    const writer = await serialWriter(a, b);
    b.hold();
    const outcomes = Array.from({ length: 4 }, (_, i) => record(writer.append(op(i))));
    await until(() => b.appendCalls >= 1, 'the record in flight to b');
    const closing = writer.close({ drainMs: 0 });
    b.release(); // b stores it after the writer stopped accepting
    await closing;
    const results = await Promise.all(outcomes);
    expect(results.map((o) => o.kind)).toEqual(['ok', 'failed', 'failed', 'failed']);
    expect(results[0]).toEqual({ kind: 'ok', seq: 1n });
  });
});
