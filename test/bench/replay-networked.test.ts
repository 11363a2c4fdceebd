/**
 * Replay into a fresh node from a real etcd and a real Kafka broker
 * (src/bench/scenarios/replay-networked.ts), shrunk to small logs: each length is
 * measured on the file store first, then written to etcd and to Kafka and replayed
 * through a fresh client, with the decode-only baseline, the ratio to the file
 * store's replay of the same length, and etcd's backend growth; etcd+kafka is no
 * replay source; nothing is left on the servers afterwards.
 */
import { Etcd3 } from 'etcd3';
import { Kafka, logLevel } from 'kafkajs';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PLAN_DEFAULTS, type BenchPlan } from '../../src/bench/plan.js';
import { replayScenario } from '../../src/bench/scenarios/replay.js';
import { ClusterIds, setupsFor } from '../../src/bench/targets.js';
import { loadZstd } from '../../src/compression/zstd.js';
import { parseStoreUrl } from '../../src/config/store-url.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';

const workDir = mkdtempSync(join(tmpdir(), 'oplog-bench-replay-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describeWithEtcd('replay from etcd', (etcd) => {
  describeWithKafka('and Kafka', (kafka) => {
    it(
      'measures every length on each store beside the file store, and cleans up',
      { timeout: 180_000 },
      async () => {
        const runTag = `t${Date.now().toString(36)}`;
        const progress: string[] = [];
        const plan: BenchPlan = {
          ...PLAN_DEFAULTS.quick,
          quick: true,
          scenarios: ['replay'],
          setups: setupsFor([parseStoreUrl(`etcd://${etcd}`), parseStoreUrl(`kafka://${kafka}`)]),
          warmupMs: 20,
          replayEntries: [2_000, 300],
          workDir,
          compression: await loadZstd(),
          ids: new ClusterIds(runTag),
          progress: (line) => progress.push(line),
        };
        const notes: string[] = [];
        const rows = await replayScenario(plan, notes);
        expect(notes).toEqual([]);
        expect(rows.map((r) => [r.store, r.entries])).toEqual([
          ['file', 300],
          ['etcd', 300],
          ['kafka', 300],
          ['file', 2_000],
          ['etcd', 2_000],
          ['kafka', 2_000],
        ]);
        for (const row of rows) {
          expect(row.valueBytes).toBe(512);
          expect(row.replayEntriesPerS).toBeCloseTo(row.entries / row.replaySeconds, 6);
          expect(row.replayOverDecodeOnly).toBeCloseTo(row.replayEntriesPerS / row.decodeOnlyEntriesPerS, 6);
          // Timed again alone after the replay, so not bounded by replaySeconds on a busy machine.
          expect(row.stateHashSeconds).toBeGreaterThan(0);
          if (row.store === 'file') {
            expect(row.rawReadEntriesPerS).toBeGreaterThan(0);
            expect(row.replayOverFile).toBeUndefined();
            continue;
          }
          const file = rows.find((r) => r.store === 'file' && r.entries === row.entries)!;
          // The records' bytes as read: compressed values (the workload repeats a pool of
          // 256), under the entries' uncompressed size with framing; how the writer cut
          // them depends on timing, so not equal to the file log's.
          expect(row.logBytes).toBeGreaterThan(0);
          expect(row.logBytes).toBeLessThan(row.entries * (512 + 128));
          expect(row.replayOverFile).toBeCloseTo(row.replayEntriesPerS / file.replayEntriesPerS, 6);
          expect(row.rawReadEntriesPerS).toBeUndefined();
          if (row.store === 'etcd') expect(row.etcdDbBytesAdded).toBeGreaterThanOrEqual(0);
          else expect(row.etcdDbBytesAdded).toBeUndefined();
        }
        expect(progress).toContainEqual(
          expect.stringMatching(
            /^replay kafka 2000 entries: \d+\/s \(decode only \d+\/s, [\d.]+ of the file store's\)$/,
          ),
        );

        // Nothing left behind: no keys under the run's clusters, no topics, no file logs.
        const client = new Etcd3({ hosts: `http://${etcd}` });
        try {
          expect(await client.getAll().prefix(`/oplog/bench-${runTag}-`).keys()).toEqual([]);
        } finally {
          client.close();
        }
        const admin = new Kafka({ brokers: [kafka], logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        try {
          expect((await admin.listTopics()).filter((t) => t.startsWith(`oplog.bench-${runTag}-`))).toEqual(
            [],
          );
        } finally {
          await admin.disconnect();
        }
        expect(readdirSync(workDir)).toEqual([]);
      },
    );
  });
});
