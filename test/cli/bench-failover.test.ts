/**
 * `oplog bench --scenarios failover,latency` against a real etcd and a real Kafka
 * broker, shrunk: one kill -9 per mode through `oplog serve` child processes on
 * etcd+kafka — manual (POST /v1/promote) and automatic (serve --role auto, the leader
 * key) — each timed from the kill to the first ack of a higher epoch, its parts taken
 * from the promoted node's log, and every store's final log checked against every
 * append the clients made; and call → applied on a standby following each store of
 * each setup, beside call → durable. Both reach the markdown; nothing is left on the
 * servers. No timing is asserted, only that each figure was measured.
 */
import { Etcd3 } from 'etcd3';
import { Kafka, logLevel } from 'kafkajs';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { BenchResults } from '../../src/bench/results.js';
import { runOplog } from '../helpers/cli-process.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';

const dir = mkdtempSync(join(tmpdir(), 'oplog-bench-failover-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeWithEtcd('oplog bench failover on etcd', (etcd) => {
  describeWithKafka('and Kafka', (kafka) => {
    it(
      'kills the primary once per mode, checks the final logs, and times call → applied per store',
      { timeout: 400_000 },
      async () => {
        const result = await runOplog([
          'bench',
          '--scenarios',
          'failover,latency',
          '--store',
          `etcd://${etcd}`,
          '--store',
          `kafka://${kafka}`,
          '--failover-runs',
          '1',
          '--case-ms',
          '150',
          '--rates',
          '200',
          '--work-dir',
          dir,
          '--out',
          join(dir, 'results'),
          '--markdown',
          join(dir, 'RESULTS.md'),
        ]);
        expect(result.status, result.stderr).toBe(0);
        expect(result.stderr).toMatch(/failover etcd\+kafka manual run 1\/1: \d+ ms \(detection \d+ ms/);
        const results = JSON.parse(readFileSync(result.stdout.split('\n')[0]!, 'utf8')) as BenchResults;

        expect(results.options.failoverRuns).toBe(1);
        expect(results.failover!.map((r) => [r.store, r.mode, r.runs.length])).toEqual([
          ['etcd+kafka', 'manual', 1],
          ['etcd+kafka', 'automatic', 1],
        ]);
        for (const row of results.failover!) {
          const run = row.runs[0]!;
          expect(run.totalMs, row.mode).toBeGreaterThan(0);
          expect(BigInt(run.toEpoch)).toBeGreaterThan(BigInt(run.fromEpoch));
          expect(run.ackedBeforeKill).toBeGreaterThanOrEqual(50);
          // Every part was logged by the promoted node.
          expect(run.detectionMs, row.mode).toBeDefined();
          expect(run.promotionMs, row.mode).toBeDefined();
          expect(run.firstAckMs, row.mode).toBeDefined();
          expect(row.p50Ms).toBe(run.totalMs);
          // The final logs: read from both stores, nothing acknowledged missing or doubled.
          expect(row.checks.map((c) => c.store)).toEqual(['etcd', 'kafka']);
          expect(row.anomalies, JSON.stringify(row.checks)).toBe(0);
          for (const check of row.checks) {
            expect(check.entries).toBeGreaterThanOrEqual(row.ackedOps);
            expect(check.entries).toBeLessThanOrEqual(row.ackedOps + row.unknownOps);
          }
        }
        expect(results.failover![1]!.leaseTtlS).toBe(2);
        expect(results.notes).toContain(
          'failover: measured on etcd+kafka only (every run starts a served node)',
        );

        // Call → applied: a standby per store of each setup, for the same ops as durable.
        const ours = results.latency.filter((r) => r.variant === 'ours');
        expect(ours.map((r) => [r.store, r.applied!.map((a) => a.source)])).toEqual([
          ['etcd', ['etcd']],
          ['kafka', ['kafka']],
          ['etcd+kafka', ['etcd', 'kafka']],
        ]);
        for (const row of results.latency)
          for (const applied of row.applied!) {
            expect(applied.measuredOps, `${row.store} ${applied.source}`).toBeGreaterThan(0);
            expect(applied.measuredOps).toBeLessThanOrEqual(row.measuredOps);
            expect(applied.notAppliedOps, `${row.store} ${applied.source}`).toBe(0);
            expect(applied.untimedOps).toBe(0);
          }

        const markdown = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
        expect(markdown).toContain('#### Failover (kill -9 of the primary');
        expect(markdown).toMatch(/\| etcd\+kafka \| automatic \| 2 \| 1 \| 4 \| [\d,]+ \|/);
        expect(markdown).toContain('none lost, doubled or misplaced (etcd ');
        expect(markdown).toContain('| etcd+kafka | ours | 200 | kafka |');

        // Nothing left: no bench keys in etcd (leader key included), no bench topics, no scratch dirs.
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
        expect(readdirSync(dir).sort()).toEqual(['RESULTS.md', 'results']);
      },
    );
  });
});
