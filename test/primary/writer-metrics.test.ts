/**
 * The writer reports through the Metrics and Logger ports (src/core/telemetry.ts):
 * every append counted once by outcome (ok, refused, failed, unknown) with its time,
 * every record's entries and bytes, every store attempt with its time and, when it
 * failed, its error code; its stop is logged with the epoch and the error code. A fake
 * that records calls stands in for prom-client and pino, which satisfy the same shapes.
 */
import { describe, expect, it } from 'vitest';
import { FencedError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/telemetry.js';
import { RecordingMetrics } from '../helpers/recording-metrics.js';
import type { BatchRecord } from '../../src/core/record-codec.js';
import type { Epoch } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { testCompression } from '../helpers/entries.js';

const compression = testCompression();

/** Refuses every append with FencedError once `fenced` is set (a newer writer, seen by this store). */
class FencingStore extends MemoryLogStore {
  fenced = false;
  override async append(record: BatchRecord, epoch: Epoch): Promise<void> {
    if (this.fenced) throw new FencedError(epoch, epoch + 1n);
    return super.append(record, epoch);
  }
}

describe('writer metrics and logs', () => {
  it('counts every append once by outcome, times it, and sizes every record', async () => {
    const metrics = new RecordingMetrics();
    const store = new FencingStore();
    const logged: { fields: object; message: string }[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (fields, message) => logged.push({ fields, message }),
      error() {},
    };
    const writer = await PrimaryWriter.start({ stores: [store], compression, metrics, logger });
    const value = new TextEncoder().encode('v');
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => writer.append({ type: 'put', key: `k${i}`, value })),
    );
    await expect(writer.append({ type: '', key: 'k', value })).rejects.toThrow();
    store.fenced = true;
    await expect(writer.append({ type: 'put', key: 'x', value })).rejects.toBeInstanceOf(FencedError);
    await writer.close();

    expect(metrics.values.get('oplog_appends_total{result=ok}')).toBe(10);
    expect(metrics.values.get('oplog_appends_total{result=refused}')).toBe(1);
    expect(metrics.values.get('oplog_appends_total{result=failed}')).toBe(1);
    expect(metrics.observed.get('oplog_append_duration_seconds{}')).toHaveLength(11);
    const entries = metrics.observed.get('oplog_record_entries{}') ?? [];
    expect(entries.reduce((a, b) => a + b, 0)).toBe(11);
    expect(metrics.observed.get('oplog_record_bytes{}')?.every((b) => b > 52)).toBe(true);
    expect(metrics.observed.get('oplog_store_append_duration_seconds{store=memory}')?.length).toBe(
      entries.length,
    );
    expect(metrics.values.get('oplog_store_errors_total{store=memory,code=OPLOG_FENCED}')).toBe(1);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toMatch(/^primary writer stopped: epoch 1 is fenced/);
    expect(logged[0]!.fields).toMatchObject({ epoch: '1', code: 'OPLOG_FENCED' });
  });
});
