/**
 * `oplog bench` against a real etcd and a real Kafka broker, shrunk to seconds: every
 * setup (etcd, Kafka, etcd+kafka) is measured with its baselines, the ceilings send our
 * writer's own record bytes through the bare clients (an etcd put, a kafkajs producer, a
 * bare transactional loop), the servers' versions are recorded, and what the bench
 * wrote to the servers is removed afterwards.
 */
import { Etcd3 } from 'etcd3';
import { Kafka, logLevel } from 'kafkajs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { BenchResults } from '../../src/bench/results.js';
import { runOplog } from '../helpers/cli-process.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';

const dir = mkdtempSync(join(tmpdir(), 'oplog-bench-servers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeWithEtcd('oplog bench on etcd', (etcd) => {
  describeWithKafka('and Kafka', (kafka) => {
    it(
      'measures every setup and its ceilings, records the versions, and cleans up',
      { timeout: 300_000 },
      async () => {
        const result = await runOplog([
          'bench',
          '--scenarios',
          'throughput,ceilings',
          '--store',
          `etcd://${etcd}`,
          '--store',
          `kafka://${kafka}`,
          '--case-ms',
          '150',
          '--rounds',
          '1',
          '--clients',
          '1,8',
          '--value-bytes',
          '512',
          '--work-dir',
          dir,
          '--out',
          join(dir, 'results'),
          '--markdown',
          join(dir, 'RESULTS.md'),
        ]);
        expect(result.status, result.stderr).toBe(0);
        const results = JSON.parse(readFileSync(result.stdout.split('\n')[0]!, 'utf8')) as BenchResults;
        expect(results.machine.etcdVersion).toMatch(/^\d+\.\d+\.\d+/);
        expect(results.machine.kafkaVersion).toMatch(/^inter\.broker\.protocol\.version \d+\.\d+/);
        expect(results.throughput.map((r) => [r.store, r.clients])).toEqual([
          ['etcd', 1],
          ['etcd', 8],
          ['kafka', 1],
          ['kafka', 8],
          ['etcd+kafka', 1],
          ['etcd+kafka', 8],
        ]);
        for (const row of results.throughput) {
          expect(row.ours.ops).toBeGreaterThan(0);
          expect(row.noGroupCommit.ops).toBeGreaterThan(0);
          // The raw fdatasync baseline belongs to the file store only.
          expect(row.rawFdatasync).toBeUndefined();
        }
        expect(results.ceilings.map((r) => [r.store, r.what])).toEqual([
          ['etcd', 'ours'],
          ['etcd', 'etcd put'],
          ['kafka', 'ours'],
          ['kafka', 'kafka producer'],
          ['kafka', 'kafka transactions'],
          ['etcd+kafka', 'ours'],
          ['etcd+kafka', 'etcd put'],
          ['etcd+kafka', 'kafka producer'],
          ['etcd+kafka', 'kafka transactions'],
        ]);
        for (const row of results.ceilings) {
          expect(row.records, `${row.store} ${row.what}`).toBeGreaterThan(0);
          expect(row.entriesPerRecord).toBeGreaterThanOrEqual(1);
          // Each ceiling sends the bytes our writer cut in that setup: the same mean size.
          const ours = results.ceilings.find((r) => r.store === row.store && r.what === 'ours')!;
          expect(row.recordBytesMean).toBe(ours.recordBytesMean);
          if (row.what !== 'ours')
            expect(row.oursOverThis).toBeCloseTo(ours.entriesPerS / row.entriesPerS, 6);
        }
        const markdown = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
        expect(markdown).toContain('#### Server ceilings for the same record bytes');
        expect(markdown).toContain('| etcd+kafka | kafka transactions | 1 |');

        // Nothing left on the servers: no bench keys in etcd, no bench topics in Kafka.
        const client = new Etcd3({ hosts: `http://${etcd}` });
        try {
          expect(await client.getAll().prefix('/oplog/bench-').keys()).toEqual([]);
        } finally {
          client.close();
        }
        const admin = new Kafka({ brokers: [kafka], logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        try {
          expect((await admin.listTopics()).filter((t) => t.startsWith('oplog.bench-'))).toEqual([]);
        } finally {
          await admin.disconnect();
        }
      },
    );
  });
});
