/**
 * The Kafka store against a real broker that this test kills and restarts: appends
 * retried across a kill -9 lose nothing acknowledged, a read-committed reader sees no
 * seq twice, and the subscriber resumes; a zombie writer — paused while another
 * fences and appends — gets FencedError when it wakes, and none of its records is ever
 * visible to a read-committed reader.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FencedError, InvalidClusterIdError } from '../../src/core/errors.js';
import { decodeRecord } from '../../src/core/record-codec.js';
import { epoch, seq, type Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import { collect } from '../contract/log-store.contract.js';
import { appendsAcrossRestart } from './restart-scenario.js';
import { makeRecord, testCompression } from '../helpers/entries.js';
import { KafkaServer } from '../setup/kafka-server.js';
import { describeWithKafka } from '../setup/servers.js';

const compression = testCompression();

describeWithKafka('kafka store faults', () => {
  let server: KafkaServer;
  beforeAll(async () => {
    server = await KafkaServer.start();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  const store = (clusterId: string) =>
    new KafkaLogStore({ brokers: server.endpoint, clusterId, blindAfterMs: 1_500 });

  it('kill -9 and restart the broker during appends: nothing acknowledged lost, no seq twice, the subscriber resumes', async () => {
    const writer = store('restart');
    const reader = store('restart');
    await appendsAcrossRestart({
      writer,
      reader,
      total: 30,
      restartAt: 10,
      retryDelayMs: 250,
      restart: async () => {
        await server.kill9();
        setTimeout(() => void server.launch(), 3_000);
      },
    });
    await writer.close();
    await reader.close();
  }, 180_000);

  it('a primary writer with appends in flight rides out a broker kill -9: every ack stored once, in order', async () => {
    const writerStore = store('writer-restart');
    const primary = await PrimaryWriter.start({
      stores: [writerStore],
      compression,
      limits: { batchEntriesMax: 8, pipelineDepth: 8 },
      retryDelayMs: 100,
      retryDelayMaxMs: 1_000,
    });
    const op = (i: number): Op => ({ type: 'put', key: `k${i}`, value: Buffer.from(`v${i}`) });
    const acked: bigint[] = [];
    for (let round = 0; round < 6; round++) {
      const appends = Array.from({ length: 50 }, (_, i) => primary.append(op(round * 50 + i)));
      // Round 2's records are in flight (queued, grouped, mid-transaction) when the broker dies.
      if (round === 2) {
        await server.kill9();
        setTimeout(() => void server.launch(), 3_000);
      }
      acked.push(...(await Promise.all(appends)));
    }
    expect(acked).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(i + 1)));
    expect(primary.state).toBe('running');
    await primary.close();
    await writerStore.close();

    const reader = store('writer-restart');
    const records = await collect(reader.read(seq(1n)));
    const entries = records.flatMap((r) => decodeRecord(r.bytes, compression).entries);
    expect(entries.map((e) => e.seq)).toEqual(acked);
    expect(entries.map((e) => Buffer.from(e.value).toString())).toEqual(acked.map((s) => `v${s - 1n}`));
    await reader.close();
  }, 180_000);

  it('a zombie writer is fenced when it wakes, and none of its records becomes visible', async () => {
    const a = store('zombie');
    await a.fence(epoch(1n));
    await a.append(makeRecord(1n, 2), epoch(1n));
    // A is "paused" here: B takes over.
    const b = store('zombie');
    await b.fence(epoch(2n));
    await b.append(makeRecord(3n, 2, 2n), epoch(2n));
    // A wakes and carries on as if nothing happened.
    await expect(a.append(makeRecord(3n, 2), epoch(1n))).rejects.toBeInstanceOf(FencedError);
    await expect(a.append(makeRecord(5n, 2), epoch(1n))).rejects.toBeInstanceOf(FencedError);
    await b.append(makeRecord(5n, 2, 2n), epoch(2n));
    const reader = store('zombie');
    const all = await collect(reader.read(seq(1n)));
    expect(all.map((r) => [r.firstSeq, r.epoch])).toEqual([
      [1n, 1n],
      [3n, 2n],
      [5n, 2n],
    ]);
    await Promise.all([a.close(), b.close(), reader.close()]);
  }, 120_000);

  it('refuses hostile cluster ids before any request', () => {
    for (const clusterId of ['../x', 'a/b', '', 'x'.repeat(200)])
      expect(() => new KafkaLogStore({ brokers: server.endpoint, clusterId })).toThrow(InvalidClusterIdError);
  });
});
