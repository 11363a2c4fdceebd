/**
 * What the CLI says about a file log's tail (issue 12, item 1): a damaged last record
 * at or below the recovery point fails `verify` (exit 1, naming file, seq and check),
 * fails `replay`, and a writer start refuses it; a torn tail past the recovery point is
 * a finding, not "OK", and `replay` and `inspect` say where and why the log ends; once
 * a writer has cut it, `verify` still reports the cut.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { CorruptStoreError } from '../../src/core/errors.js';
import { epoch } from '../../src/core/types.js';
import { FileLogStore } from '../../src/stores/file/file-store.js';
import { appendRun } from '../contract/log-store.contract.js';

const root = mkdtempSync(join(tmpdir(), 'oplog-cli-recovery-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let clusters = 0;

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/**
 * A closed log of 6 records of 3 entries; with `markedRecords`, the recovery point is put
 * back to where it stood after that many (a crash after the later writes, before their
 * mark). Returns the cluster id and the one segment's path.
 */
async function log(markedRecords?: number): Promise<{ clusterId: string; segment: string }> {
  const clusterId = `c${++clusters}`;
  const options = { dataDir: root, clusterId, warn: () => {} };
  const markPath = join(root, clusterId, 'recovery-point');
  const store = await FileLogStore.open(options);
  await store.fence(epoch(1n));
  const first = await appendRun(store, { records: markedRecords ?? 6 });
  const saved = markedRecords === undefined ? undefined : readFileSync(markPath);
  await appendRun(store, { records: 6 - first.length, from: first.at(-1)!.lastSeq + 1n });
  await store.close();
  if (saved !== undefined) writeFileSync(markPath, saved);
  const dir = join(root, clusterId, 'segments');
  return { clusterId, segment: join(dir, readdirSync(dir).sort()[0]!) };
}

/** Flips one byte near the end of the file: inside the last record's body. */
function damageLastRecord(segment: string): void {
  const bytes = readFileSync(segment);
  bytes[statSync(segment).size - 3]! ^= 0x01;
  writeFileSync(segment, bytes);
}

describe('a damaged last record at or below the recovery point', () => {
  it('fails verify and replay naming the seq and check, and a writer start refuses it', async () => {
    const { clusterId, segment } = await log();
    damageLastRecord(segment);
    const verify = await cli(['verify', '--data-dir', root, '--cluster-id', clusterId]);
    expect(verify.code).toBe(1);
    expect(verify.out.at(-1)).toBe('FAILED');
    expect(verify.out.join('\n')).toMatch(/seq 16.*body-checksum|body-checksum.*seq 16/);
    const replay = await cli(['replay', '--data-dir', root, '--cluster-id', clusterId, '--no-snapshot']);
    expect(replay.code).toBe(1);
    const writer = await FileLogStore.open({ dataDir: root, clusterId }).catch((e: unknown) => e);
    expect(writer).toBeInstanceOf(CorruptStoreError);
    expect((writer as CorruptStoreError).seq).toBe(16n);
  });
});

describe('a torn tail past the recovery point', () => {
  it('is a finding in verify, and replay and inspect say where the log ends and why', async () => {
    const { clusterId, segment } = await log(4);
    damageLastRecord(segment);
    const verify = await cli(['verify', '--data-dir', root, '--cluster-id', clusterId]);
    expect(verify.code).toBe(0);
    expect(verify.out.at(-1)).toBe('FINDINGS (1; no damage)');
    expect(verify.out).toContainEqual(
      expect.stringMatching(
        /^file: finding: torn tail present .* past the recovery point \(seq 12: .*seqs 16\.\.18 \(body-checksum check failed\); the next writer start cuts it$/,
      ),
    );
    for (const argv of [
      ['replay', '--data-dir', root, '--cluster-id', clusterId, '--no-snapshot'],
      ['inspect', '--data-dir', root, '--cluster-id', clusterId],
    ]) {
      const run = await cli(argv);
      expect(run.code, argv[0]).toBe(0);
      expect(run.err, argv[0]).toContainEqual(
        expect.stringMatching(/^warning: the log ends at seq 15: torn tail present .*seqs 16\.\.18/),
      );
    }
  });

  it('once a writer has cut it, verify still reports the cut', async () => {
    const { clusterId, segment } = await log(4);
    damageLastRecord(segment);
    const warnings: string[] = [];
    const writer = await FileLogStore.open({ dataDir: root, clusterId, warn: (m) => warnings.push(m) });
    await writer.close();
    expect(warnings).toContainEqual(expect.stringMatching(/: cut a torn tail .*seqs 16\.\.18/));
    const verify = await cli(['verify', '--data-dir', root, '--cluster-id', clusterId]);
    expect(verify.code).toBe(0);
    expect(verify.out[0]).toMatch(/^file: seq 1\.\.15 · /);
    expect(verify.out).toContainEqual(
      expect.stringMatching(/^file: finding: cut a torn tail .*seqs 16\.\.18 .* at \d{4}-/),
    );
    expect(verify.out.at(-1)).toBe('FINDINGS (1; no damage)');
  });
});
