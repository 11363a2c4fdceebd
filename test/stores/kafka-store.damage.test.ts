/**
 * Damaged records in a real broker's segment files (both found by the fault suite,
 * chaos/). A flipped byte in an old record is refused where it lies, never skipped,
 * but reads and subscriptions from a later seq no longer fail on it (they start some
 * way before their seq and used to verify everything they scanned), so a node
 * restarted from a snapshot past the damage can follow Kafka again.
 *
 * And a broker that cuts its own log: with one flipped
 * byte in a segment, a kill -9 and restart makes Kafka's recovery truncate the
 * partition at the batch that fails its CRC — with one replica, acknowledged records
 * are gone from Kafka. The writer whose append failed across the restart then sees a
 * head far behind it; that is retried for `headLagRetryMs` (a high watermark catching
 * up), then believed: NotContiguousError stops the writer, instead of it running on
 * for ever with every append retried and none acknowledged (which also kept every
 * other node from taking over). The next writer's reconciliation refills Kafka from
 * the store that kept everything, byte for byte.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CorruptStoreError, NotContiguousError } from '../../src/core/errors.js';
import { epoch, seq, type Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { collect } from '../contract/log-store.contract.js';
import { makeRecord, testCompression } from '../helpers/entries.js';
import { until } from '../helpers/waiting.js';
import { KafkaServer } from '../setup/kafka-server.js';
import { describeWithKafka } from '../setup/servers.js';

const compression = testCompression();
const op = (i: number): Op => ({ type: 'put', key: `k${i % 5}`, value: Buffer.from(`value-${i}`) });

/** Flips one byte of every stored copy of `record` in the partition's segment files. */
function flipInSegments(dir: string, record: Uint8Array): number {
  let copies = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
    const path = join(dir, file);
    const segment = readFileSync(path);
    for (let at = segment.indexOf(record); at >= 0; at = segment.indexOf(record, at + 1)) {
      const fd = openSync(path, 'r+');
      const byte = Buffer.alloc(1);
      readSync(fd, byte, 0, 1, at + record.length - 3);
      byte[0]! ^= 0x20;
      writeSync(fd, byte, 0, 1, at + record.length - 3);
      closeSync(fd);
      copies++;
    }
  }
  return copies;
}

describeWithKafka('kafka store: damaged records in the broker', () => {
  let server: KafkaServer;
  beforeAll(async () => {
    server = await KafkaServer.start();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('a damaged old record fails only the reads that need it', async () => {
    const clusterId = 'damaged-old';
    const writer = new KafkaLogStore({ brokers: server.endpoint, clusterId });
    await writer.fence(epoch(1n));
    const records = [];
    for (let s = 1n; s <= 60n; s++) {
      const record = makeRecord(s, 1);
      records.push(record);
      await writer.append(record, epoch(1n));
    }
    await writer.close();
    expect(flipInSegments(join(server.dir, 'logs', `oplog.${clusterId}-0`), records[19]!.bytes)).toBe(1);

    const reader = new KafkaLogStore({ brokers: server.endpoint, clusterId });
    expect((await collect(reader.read(seq(40n)))).map((r) => r.firstSeq)).toEqual(
      Array.from({ length: 21 }, (_, i) => BigInt(40 + i)),
    );
    await expect(collect(reader.read(seq(20n)))).rejects.toBeInstanceOf(CorruptStoreError);
    await expect(collect(reader.read(seq(5n)))).rejects.toBeInstanceOf(CorruptStoreError);
    const followed: bigint[] = [];
    for await (const event of reader.subscribe(seq(50n))) {
      if (event.type === 'record') followed.push(event.record.firstSeq);
      if (followed.length === 11) break;
    }
    expect(followed).toEqual(Array.from({ length: 11 }, (_, i) => BigInt(50 + i)));
    await reader.close();
  }, 120_000);

  it('the writer stops with NotContiguousError after the lag window; the next one refills Kafka', async () => {
    const clusterId = 'truncated';
    const kafka = new KafkaLogStore({ brokers: server.endpoint, clusterId, headLagRetryMs: 2_000 });
    const memory = new MemoryLogStore();
    const writer = await PrimaryWriter.start({
      stores: [kafka, memory],
      compression,
      retryDelayMs: 100,
      retryDelayMaxMs: 500,
    });
    for (let batch = 0; batch < 4; batch++)
      await writer.appendMany(Array.from({ length: 10 }, (_, i) => op(batch * 10 + i)));
    const stored = await collect(memory.read(seq(1n)));
    const damaged = stored[2]!;
    expect(flipInSegments(join(server.dir, 'logs', `oplog.${clusterId}-0`), damaged.bytes)).toBeGreaterThan(
      0,
    );

    await server.kill9();
    // In flight across the restart: its first attempt fails on the broker.
    const inFlight = writer.append(op(40));
    const settled = inFlight.then(
      () => 'acknowledged',
      (error: unknown) => error,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    await server.launch();

    await until(() => writer.state === 'stopped', 'the writer stopped', 60_000);
    expect(writer.error).toBeInstanceOf(NotContiguousError);
    expect(await settled).not.toBe('acknowledged');
    await kafka.close();

    // What Kafka kept ends before the damaged record: its recovery cut the log there.
    const reader = new KafkaLogStore({ brokers: server.endpoint, clusterId });
    expect((await reader.head()).lastSeq).toBeLessThan(damaged.firstSeq);

    const next = await PrimaryWriter.start({ stores: [reader, memory], compression });
    const after = await next.append(op(41));
    await next.close();
    const refilled = await collect(reader.read(seq(1n)));
    const kept = await collect(memory.read(seq(1n)));
    expect(refilled.map((r) => Buffer.from(r.bytes).toString('hex'))).toEqual(
      kept.map((r) => Buffer.from(r.bytes).toString('hex')),
    );
    expect(kept.at(-1)!.lastSeq).toBe(after);
    await reader.close();
  }, 180_000);
});
