/**
 * Issue 12 item 5 on a real etcd and a real Kafka broker: a writer appending with 64 ops
 * in flight is replaced by a new primary on the same stores. Every op the old writer
 * rejected as failed must be absent from the final log (the new primary's reconcile
 * keeps or copies whatever one store held, so "fenced" for such an op was an aborted
 * read); acknowledged ops are present at their seq; unknown ones carry their seq and are
 * present once or absent.
 */
import { expect, it } from 'vitest';
import { UnknownOutcomeError } from '../../src/core/errors.js';
import { decodeRecord } from '../../src/core/record-codec.js';
import { seq, type Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import type { LogStore } from '../../src/stores/log-store.js';
import { collect } from '../contract/log-store.contract.js';
import { testCompression } from '../helpers/entries.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';

const compression = testCompression();
const IN_FLIGHT = 64;
const ROUNDS = 3;

type Outcome = { kind: 'ok' | 'unknown'; seq: bigint } | { kind: 'failed'; code: string };

describeWithEtcd('replaced writer (etcd)', (etcdHosts) => {
  describeWithKafka('and Kafka', (brokers) => {
    it(`no op rejected as failed is in the final log (${ROUNDS} replacements, ${IN_FLIGHT} in flight)`, async () => {
      const clusterId = `replaced-${process.pid}-${Date.now()}`;
      const open = (): LogStore[] => [
        new EtcdLogStore({ hosts: etcdHosts, clusterId }),
        new KafkaLogStore({ brokers, clusterId }),
      ];
      const outcomes = new Map<string, Outcome>();
      const opened: LogStore[][] = [];
      let stores = open();
      opened.push(stores);
      let writer = await PrimaryWriter.start({ stores, compression, limits: { pipelineDepth: 4 } });
      let n = 0;
      for (let round = 0; round < ROUNDS; round++) {
        // Keep IN_FLIGHT ops outstanding on the old writer until it stops.
        const old = writer;
        const pump = async (): Promise<void> => {
          while (old.state === 'running') {
            const value = `op-${n++}`;
            const op: Op = { type: 'put', key: value, value: Buffer.from(value) };
            outcomes.set(value, await answer(old.append(op)));
          }
        };
        const pumps = Array.from({ length: IN_FLIGHT }, pump);
        while (n < (round + 1) * 400) await new Promise((r) => setTimeout(r, 5));
        stores = open();
        opened.push(stores);
        writer = await PrimaryWriter.start({ stores, compression, limits: { pipelineDepth: 4 } });
        await Promise.all(pumps);
        await old.close();
      }
      await writer.close();

      const inLog = new Map<string, bigint[]>();
      for (const record of await collect(stores[0]!.read(seq(1n))))
        for (const entry of decodeRecord(record.bytes, compression).entries) {
          const value = Buffer.from(entry.value).toString();
          inLog.set(value, [...(inLog.get(value) ?? []), entry.seq]);
        }
      const counts = { ok: 0, failed: 0, unknown: 0, failedInLog: 0, unknownInLog: 0 };
      for (const [value, outcome] of outcomes) {
        const seqs = inLog.get(value) ?? [];
        expect(seqs.length, `${value} at most once`).toBeLessThanOrEqual(1);
        counts[outcome.kind]++;
        if (outcome.kind === 'ok') expect(seqs, `acknowledged ${value}`).toEqual([outcome.seq]);
        if (outcome.kind === 'unknown' && seqs.length === 1) {
          counts.unknownInLog++;
          expect(seqs[0]).toBe(outcome.seq);
        }
        if (outcome.kind === 'failed') {
          expect(outcome.code).toBe('OPLOG_FENCED');
          if (seqs.length > 0) counts.failedInLog++;
        }
      }
      console.log('replaced writer outcomes', counts);
      expect(counts.failedInLog).toBe(0);
      expect(counts.ok).toBeGreaterThan(0);
      // Both stores end identical (a second reader of the other store agrees).
      const other = await collect(stores[1]!.read(seq(1n)));
      expect(other.map((r) => r.lastSeq).at(-1)).toBe((await stores[0]!.head()).lastSeq);
      for (const set of opened) for (const store of set) await store.close();
    }, 180_000);
  });
});

function answer(promise: Promise<bigint>): Promise<Outcome> {
  return promise.then(
    (s) => ({ kind: 'ok', seq: s }),
    (error: unknown) =>
      error instanceof UnknownOutcomeError
        ? { kind: 'unknown', seq: error.seq }
        : { kind: 'failed', code: (error as { code?: string }).code ?? String(error) },
  );
}
