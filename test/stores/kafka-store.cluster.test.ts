/**
 * The Kafka store on three real brokers that this test owns (KRaft, replication factor
 * 3, min.insync.replicas 2): the broker leading the log partition is kill -9'd during
 * transactional appends; appends, retried with the same bytes, resume within a bound
 * once the controller moves the leadership; nothing acknowledged is lost, no seq is
 * stored or delivered twice, and a subscriber misses nothing. The broker launched again
 * on its log dir rejoins the in-sync replicas.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { BatchRecord } from '../../src/core/record-codec.js';
import { epoch, seq } from '../../src/core/types.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import { appendRetrying, collect } from '../contract/log-store.contract.js';
import { makeRecord } from '../helpers/entries.js';
import { untilValue } from '../helpers/waiting.js';
import { KafkaCluster } from '../setup/kafka-cluster.js';
import { describeWithKafka } from '../setup/servers.js';

/**
 * From the kill to the next acknowledged append: the controller fences the dead broker
 * after broker.session.timeout.ms (9 s, Kafka's default) and elects a leader from the ISR.
 */
const RESUME_MS_MAX = 30_000;

describeWithKafka('kafka store on 3 brokers', () => {
  let cluster: KafkaCluster;
  beforeAll(async () => {
    cluster = await KafkaCluster.start({ size: 3 });
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('kill -9 the partition leader during appends: nothing acknowledged lost or doubled; it rejoins the ISR', async () => {
    const clusterId = `three-brokers-${process.pid}-${Date.now()}`;
    const open = () =>
      new KafkaLogStore({
        brokers: cluster.endpoints,
        clusterId,
        replicationFactor: 3,
        minInsyncReplicas: 2,
        blindAfterMs: 1_500,
      });
    const writer = open();
    const reader = open();
    // The first fence creates the topics; a broker may not know them yet (retryable).
    await untilValue(
      'the first fence',
      () =>
        writer.fence(epoch(1n)).then(
          () => true,
          (error: unknown) => {
            if (!(error instanceof StoreUnavailableError)) throw error;
            return undefined;
          },
        ),
      60_000,
    );
    const total = 40;
    const subscription = reader.subscribe(seq(1n));
    const seen: bigint[] = [];
    const consuming = (async () => {
      for await (const event of subscription) {
        if (event.type !== 'record') continue;
        seen.push(event.record.firstSeq);
        if (event.record.lastSeq >= BigInt(total * 2)) break;
      }
    })();

    const topic = `oplog.${clusterId}`;
    const acked: BatchRecord[] = [];
    let killedAtMs = 0;
    let resumedAfterMs: number | undefined;
    let killed: Awaited<ReturnType<KafkaCluster['partition']>>;
    for (let i = 0; i < total; i++) {
      if (i === 15) {
        killed = await untilValue('the partition leader', () => cluster.partition(topic), 30_000);
        expect(killed.isr).toHaveLength(3);
        killedAtMs = performance.now();
        await killed.leader.kill9();
      }
      const record = makeRecord(BigInt(i * 2 + 1), 2);
      await appendRetrying(writer, record, 1n, { delayMs: 100, attemptsMax: 600 });
      acked.push(record);
      if (killed !== undefined && resumedAfterMs === undefined)
        resumedAfterMs = performance.now() - killedAtMs;
    }
    await consuming;
    subscription.close();
    console.log(
      `kafka broker ${killed!.leader.nodeId} (partition leader) killed; next append acknowledged after ${Math.round(resumedAfterMs!)} ms`,
    );
    expect(resumedAfterMs).toBeLessThan(RESUME_MS_MAX);

    const stored = await collect(reader.read(seq(1n)));
    expect(stored.map((r) => r.firstSeq)).toEqual(acked.map((r) => r.firstSeq));
    expect(stored.map((r) => r.bodyChecksum)).toEqual(acked.map((r) => r.bodyChecksum));
    expect(seen).toEqual(acked.map((r) => r.firstSeq));
    const after = await untilValue('a new partition leader', () => cluster.partition(topic), 30_000);
    expect(after.leader).not.toBe(killed!.leader);

    await killed!.leader.launch();
    await untilValue(
      'the restarted broker back in the ISR',
      async () => ((await cluster.partition(topic))?.isr.length === 3 ? true : undefined),
      60_000,
    );
    await appendRetrying(writer, makeRecord(BigInt(total * 2 + 1), 1), 1n, { delayMs: 100 });
    expect((await writer.head()).lastSeq).toBe(BigInt(total * 2 + 1));
    await writer.close();
    await reader.close();
  }, 180_000);
});
