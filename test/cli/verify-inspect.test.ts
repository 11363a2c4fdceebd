/**
 * `oplog verify` and `oplog inspect` on a file store and a real etcd written by one
 * primary: identical stores pass; a store that is only behind is reported and passes;
 * damaged bytes and different bytes at one seq fail, naming the store and the seq.
 */
import { Etcd3 } from 'etcd3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { inspectCommand } from '../../src/cli/inspect.js';
import { verifyCommand } from '../../src/cli/verify.js';
import { InvalidClusterIdError, InvalidInputError } from '../../src/core/errors.js';
import type { Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { FileLogStore } from '../../src/stores/file/file-store.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import { makeRecord, testCompression } from '../helpers/entries.js';
import { verifyRecord } from '../../src/core/record-codec.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';

const compression = testCompression();
const dataDir = mkdtempSync(join(tmpdir(), 'oplog-verify-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const op = (i: number, tag = 'v'): Op => ({
  type: 'put',
  key: `k${i % 13}`,
  value: Buffer.from(`${tag}${i}`),
});

async function run(
  command: typeof verifyCommand,
  args: string[],
): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await command(args, { out: (line) => lines.push(line), err: (line) => lines.push(line) });
  return { code, lines };
}

describeWithEtcd('oplog verify and inspect', (endpoint) => {
  const unique = () => `verify-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;

  async function bothStores(clusterId: string, count: number) {
    const file = await FileLogStore.open({ dataDir, clusterId });
    const etcd = new EtcdLogStore({ hosts: endpoint, clusterId });
    const primary = await PrimaryWriter.start({
      stores: [file, etcd],
      compression,
      limits: { batchEntriesMax: 10 },
    });
    for (let i = 0; i < count; i += 10)
      await primary.appendMany(Array.from({ length: 10 }, (_, j) => op(i + j)));
    await primary.close();
    return { file, etcd };
  }

  it('passes identical stores, and reports a store that is only behind', async () => {
    const clusterId = unique();
    const { file, etcd } = await bothStores(clusterId, 50);
    const args = ['--data-dir', dataDir, '--etcd', endpoint, '--cluster-id', clusterId];
    const same = await run(verifyCommand, args);
    expect(same.code).toBe(0);
    expect(same.lines[0]).toMatch(/^file: seq 1\.\.50 · (\d+) records · 50 entries · epoch ≤ 1$/);
    expect(same.lines[1]).toBe(same.lines[0]!.replace('file', 'etcd'));
    expect(same.lines[2]).toMatch(/^file and etcd: \d+ shared records byte-identical$/);
    expect(same.lines[3]).toBe('OK');

    // A record that reached the file store only (the writer died before etcd held it).
    const onlyFile = await PrimaryWriter.start({ stores: [file], compression });
    await onlyFile.appendMany([op(50), op(51)]);
    await onlyFile.close();
    const behind = await run(verifyCommand, args);
    expect(behind.code).toBe(0);
    expect(behind.lines).toContain(
      'file head 52, etcd head 50: the shorter one is behind (the next writer start copies what it misses)',
    );
    await file.close();
    await etcd.close();

    const inspected = await run(inspectCommand, [
      '--data-dir',
      dataDir,
      '--cluster-id',
      clusterId,
      '--from-seq',
      '15',
      '--limit',
      '2',
      '--entries',
    ]);
    expect(inspected.code).toBe(0);
    expect(inspected.lines[0]).toBe('file log · head seq 52 · epoch 2');
    // The record covering seq 15 first, then one more; with --entries, each entry below its record.
    const records = inspected.lines.filter((l) => l.startsWith('record'));
    expect(records).toHaveLength(2);
    const [, first, last] = /^record seq (\d+)\.\.(\d+) · epoch 1 · (\d+) entries/.exec(records[0]!)!;
    expect(Number(first)).toBeLessThanOrEqual(15);
    expect(Number(last)).toBeGreaterThanOrEqual(15);
    expect(inspected.lines[2]).toMatch(
      new RegExp(
        `^ {2}seq ${first} · epoch 1 · \\S+ · put "k${(Number(first) - 1) % 13}" · \\d+ bytes: "v${Number(first) - 1}"$`,
      ),
    );
    await expect(run(inspectCommand, ['--data-dir', dataDir, '--limit', '0'])).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(run(inspectCommand, ['--data-dir', dataDir, '--cluster-id', '../x'])).rejects.toBeInstanceOf(
      InvalidClusterIdError,
    );
    await expect(run(verifyCommand, ['--cluster-id', clusterId])).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('fails on damaged bytes and on different bytes at one seq, naming store and seq', async () => {
    const clusterId = unique();
    const { file, etcd } = await bothStores(clusterId, 30);
    await file.close();
    await etcd.close();
    const client = new Etcd3({ hosts: `http://${endpoint}` });
    // The third record, whatever its seqs (the writer's batching decides them).
    const [key, good] = Object.entries(
      await client.getAll().prefix(`/oplog/${clusterId}/log/`).buffers(),
    ).sort(([a], [b]) => (a < b ? -1 : 1))[2]!;
    const header = verifyRecord(new Uint8Array(good));
    const damaged = Buffer.from(good);
    damaged[damaged.length - 2]! ^= 0x01;
    await client.put(key).value(damaged);
    const args = ['--data-dir', dataDir, '--etcd', endpoint, '--cluster-id', clusterId];
    const broken = await run(verifyCommand, args);
    expect(broken.code).toBe(1);
    const unreadable = `etcd: unreadable after seq ${header.firstSeq - 1n}: OPLOG_CORRUPT_STORE`;
    expect(broken.lines.some((l) => l.startsWith(unreadable))).toBe(true);
    expect(broken.lines.at(-1)).toBe('FAILED');

    // A valid record, but not the one the file store holds at that seq: a fork.
    await client.put(key).value(Buffer.from(makeRecord(header.firstSeq, header.entryCount, 1n).bytes));
    client.close();
    const differ = await run(verifyCommand, args);
    expect(differ.code).toBe(1);
    expect(differ.lines).toContain(`file and etcd DIFFER at record seq ${header.firstSeq}`);
  });
});

describeWithEtcd('oplog verify across etcd and Kafka (etcd)', (etcdEndpoint) => {
  describeWithKafka('oplog verify across etcd and Kafka', (kafkaEndpoint) => {
    it('a log written to both by one primary verifies identical', async () => {
      const clusterId = `verify-ek-${process.pid}-${Date.now()}`;
      const etcd = new EtcdLogStore({ hosts: etcdEndpoint, clusterId });
      const kafka = new KafkaLogStore({ brokers: kafkaEndpoint, clusterId });
      const primary = await PrimaryWriter.start({ stores: [etcd, kafka], compression });
      for (let i = 0; i < 40; i += 10)
        await primary.appendMany(Array.from({ length: 10 }, (_, j) => op(i + j)));
      await primary.close();
      await etcd.close();
      await kafka.close();
      const { code, lines } = await run(verifyCommand, [
        '--etcd',
        etcdEndpoint,
        '--kafka',
        kafkaEndpoint,
        '--cluster-id',
        clusterId,
      ]);
      expect(code, lines.join('\n')).toBe(0);
      expect(lines[0]).toMatch(/^etcd: seq 1\.\.40 · \d+ records · 40 entries · epoch ≤ 1$/);
      expect(lines[1]).toBe(lines[0]!.replace('etcd', 'kafka'));
      expect(lines[2]).toMatch(/^etcd and kafka: \d+ shared records byte-identical$/);
      expect(lines.at(-1)).toBe('OK');
    });
  });
});
