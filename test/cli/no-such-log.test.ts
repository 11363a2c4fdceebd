/**
 * A read-only command against a cluster that does not exist is "no such log" (exit 2,
 * nothing created) on every store alike — file, etcd and Kafka — never an empty log;
 * a cluster that exists but holds no record yet (a writer fenced it, wrote nothing)
 * is an empty log (exit 0).
 */
import { Etcd3 } from 'etcd3';
import { Kafka, logLevel } from 'kafkajs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { epoch } from '../../src/core/types.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { FileLogStore } from '../../src/stores/file/file-store.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';

const dataDir = mkdtempSync(join(tmpdir(), 'oplog-no-such-log-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const unique = (tag: string) =>
  `${tag}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** replay, inspect and verify against one store; `args` locate it. */
function readOnly(store: string, args: string[]): string[][] {
  return [
    ['replay', '--store', store, ...args, '--no-snapshot'],
    ['inspect', '--store', store, ...args],
    ['verify', ...args],
  ];
}

it('file: a cluster with no log under --data-dir is no such log', async () => {
  for (const argv of readOnly('file', ['--data-dir', dataDir, '--cluster-id', unique('none')])) {
    const result = await cli(argv);
    expect(result.code, argv.join(' ')).toBe(2);
    expect(result.err[0]).toMatch(
      /^oplog: \[OPLOG_INVALID_INPUT\] invalid --data-dir: no log of cluster none-/,
    );
  }
  const clusterId = unique('empty');
  const writer = await FileLogStore.open({ dataDir, clusterId });
  await writer.close();
  const inspected = await cli(['inspect', '--data-dir', dataDir, '--cluster-id', clusterId]);
  expect(inspected).toMatchObject({ code: 0, out: ['file log · head seq 0 · epoch 0'] });
});

describeWithEtcd('etcd', (endpoint) => {
  it('a cluster without keys is no such log for replay, inspect and verify; nothing is created', async () => {
    const clusterId = unique('none');
    for (const argv of readOnly('etcd', ['--etcd', endpoint, '--cluster-id', clusterId])) {
      const result = await cli(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.err).toEqual([
        `oplog: [OPLOG_INVALID_INPUT] invalid --cluster-id: no etcd log of cluster ${clusterId} under /oplog/ at ${endpoint} (no epoch key: no writer ever started; nothing was created)`,
      ]);
    }
    // A prefix typo is the same.
    const typo = await cli(['inspect', '--store', 'etcd', '--etcd', endpoint, '--etcd-prefix', 'oplgo']);
    expect(typo.code).toBe(2);
    const client = new Etcd3({ hosts: `http://${endpoint}` });
    try {
      expect(await client.getAll().prefix(`/oplog/${clusterId}/`).keys()).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('a fenced cluster with no record is an empty log, not a missing one', async () => {
    const clusterId = unique('empty');
    const writer = new EtcdLogStore({ hosts: endpoint, clusterId });
    await writer.fence(epoch(1n));
    await writer.close();
    const args = ['--etcd', endpoint, '--cluster-id', clusterId];
    const inspected = await cli(['inspect', '--store', 'etcd', ...args]);
    expect(inspected).toMatchObject({ code: 0, out: ['etcd log · head seq 0 · epoch 1'] });
    const replayed = await cli(['replay', '--store', 'etcd', ...args, '--no-snapshot']);
    expect(replayed.code).toBe(0);
    expect(replayed.out).toContain('replayed nothing from the etcd log (head seq 0)');
    const verified = await cli(['verify', ...args]);
    expect(verified).toMatchObject({ code: 0, out: ['etcd: empty', 'OK'] });
  });
});

describeWithKafka('Kafka', (endpoint) => {
  it('a cluster without topics is no such log for verify too (it was a finding, exit 1); nothing is created', async () => {
    const clusterId = unique('none');
    for (const argv of readOnly('kafka', ['--kafka', endpoint, '--cluster-id', clusterId])) {
      const result = await cli(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.err[0]).toMatch(
        /^oplog: \[OPLOG_INVALID_INPUT\] invalid cluster: no Kafka topic oplog\.none-/,
      );
    }
    const admin = new Kafka({ brokers: [endpoint], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      expect((await admin.listTopics()).filter((t) => t.includes(clusterId))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });
});
