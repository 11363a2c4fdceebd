/**
 * File-store behaviour beyond the contract: damage in an older segment is refused and
 * an empty segment left by a crash is removed (the recovery point's own cases are in
 * file-store.recovery.test.ts); one writer per log (a live holder's lock is refused, a
 * dead one's is taken over); a reader in another process tails new records; hostile
 * cluster ids never touch the disk.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptStoreError, InvalidClusterIdError, LockedError } from '../../src/core/errors.js';
import { epoch } from '../../src/core/types.js';
import { FileLogStore, type FileStoreOptions } from '../../src/stores/file/file-store.js';
import { appendRun } from '../contract/log-store.contract.js';
import { makeRecord } from '../helpers/entries.js';

// One level down in a private directory, so `dataDir/../x` is ours to check (the shared
// /tmp may hold anyone's `x`).
const parentDir = mkdtempSync(join(tmpdir(), 'oplog-file-'));
const dataDir = join(parentDir, 'data');
afterAll(() => rmSync(parentDir, { recursive: true, force: true }));
let counter = 0;

async function writtenStore(records: number, extra: Partial<FileStoreOptions> = {}) {
  const options = { dataDir, clusterId: `f${++counter}`, ...extra };
  const store = await FileLogStore.open(options);
  await store.fence(epoch(1n));
  const written = await appendRun(store, { records });
  await store.close();
  return { options, written, segmentDir: join(dataDir, options.clusterId, 'segments') };
}

describe('file store recovery', () => {
  it("reports damage in an older segment even when it is the segment's last record", async () => {
    const { options, segmentDir } = await writtenStore(3, { segmentBytesMax: 1 });
    const first = join(segmentDir, readdirSync(segmentDir).sort()[0]!);
    truncateSync(first, statSync(first).size - 1);
    await expect(FileLogStore.open({ ...options, segmentBytesMax: 1 })).rejects.toBeInstanceOf(
      CorruptStoreError,
    );
  });

  it('removes an empty segment left by a crash right after it was created', async () => {
    const { options, segmentDir } = await writtenStore(2);
    writeFileSync(join(segmentDir, `${'7'.padStart(20, '0')}.seg`), '');
    const store = await FileLogStore.open(options);
    expect(await store.head()).toEqual({ lastSeq: 6n, epoch: 1n });
    expect(readdirSync(segmentDir).length).toBe(1);
    await store.close();
  });
});

describe('file store writers and readers', () => {
  it("refuses a second writer while the first is open, and takes over a dead one's lock", async () => {
    const { options } = await writtenStore(1);
    const first = await FileLogStore.open(options);
    await expect(FileLogStore.open(options)).rejects.toBeInstanceOf(LockedError);
    await first.close();
    // A lock left by a process that no longer exists is stale.
    writeFileSync(join(dataDir, options.clusterId, 'writer.lock'), '999999999 1');
    const second = await FileLogStore.open(options);
    expect(await second.head()).toEqual({ lastSeq: 3n, epoch: 1n });
    await second.close();
  });

  it('a fence written by another process stops the writer at its next append', async () => {
    const { options } = await writtenStore(1);
    const writer = await FileLogStore.open(options);
    const other = await FileLogStore.open({ ...options, mode: 'reader' });
    await other.fence(epoch(2n));
    await expect(writer.append(makeRecord(4n, 1), epoch(1n))).rejects.toMatchObject({ code: 'OPLOG_FENCED' });
    await writer.append(makeRecord(4n, 1, 2n), epoch(2n));
    await writer.close();
    await other.close();
  });

  it('a reader in another process tails records as they are appended', async () => {
    const { options } = await writtenStore(1);
    const writer = await FileLogStore.open(options);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'file-tail-child.ts'),
        options.dataDir,
        options.clusterId,
        '12',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // Append only once the child reports it is following, so it must tail, not just read.
    while (!output.includes('following')) await new Promise((r) => setTimeout(r, 20));
    await appendRun(writer, { records: 3, from: 4n });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    await writer.close();
    expect(code).toBe(0);
    expect(output.trim().split('\n').slice(1)).toEqual(['1', '4', '7', '10']);
  });

  it('refuses hostile cluster ids before touching the disk', async () => {
    for (const clusterId of ['../x', 'a/b', '', 'x'.repeat(200), '.', '..', 'a\0b']) {
      await expect(FileLogStore.open({ dataDir, clusterId })).rejects.toBeInstanceOf(InvalidClusterIdError);
    }
    expect(existsSync(join(dataDir, '..', 'x'))).toBe(false);
  });
});
