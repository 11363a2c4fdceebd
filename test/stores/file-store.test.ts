/**
 * File-store behaviour beyond the contract: recovery cuts a torn tail and nothing
 * else; a flipped byte in the middle is a CorruptStoreError naming the seq; one writer
 * per log (a live holder's lock is refused, a dead one's is taken over); a reader in
 * another process tails new records; hostile cluster ids never touch the disk.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptStoreError, InvalidClusterIdError, LockedError } from '../../src/core/errors.js';
import { epoch, seq } from '../../src/core/types.js';
import { FileLogStore, type FileStoreOptions } from '../../src/stores/file/file-store.js';
import { appendRun, collect } from '../contract/log-store.contract.js';
import { makeRecord } from '../helpers/entries.js';

const dataDir = mkdtempSync(join(tmpdir(), 'oplog-file-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
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
  it('cuts a torn last record and continues at the right seq', async () => {
    const { options, written, segmentDir } = await writtenStore(5);
    const [segment] = readdirSync(segmentDir);
    const path = join(segmentDir, segment!);
    const size = statSync(path).size;
    truncateSync(path, size - Math.floor(written[4]!.bytes.length / 2));
    const store = await FileLogStore.open(options);
    expect(await store.head()).toEqual({ lastSeq: 12n, epoch: 1n });
    expect(statSync(path).size).toBe(size - written[4]!.bytes.length);
    await store.append(makeRecord(13n, 2), epoch(1n));
    expect((await collect(store.read(seq(1n)))).map((r) => r.firstSeq)).toEqual([1n, 4n, 7n, 10n, 13n]);
    await store.close();
  });

  it('cuts garbage appended after the last record (a torn write of a header)', async () => {
    const { options, segmentDir } = await writtenStore(2);
    const path = join(segmentDir, readdirSync(segmentDir)[0]!);
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from('OPLG\x01garbage')]));
    const store = await FileLogStore.open(options);
    expect(await store.head()).toEqual({ lastSeq: 6n, epoch: 1n });
    await store.close();
  });

  it('reports a flipped byte in the middle with the seq, and cuts nothing', async () => {
    const { options, written, segmentDir } = await writtenStore(5);
    const path = join(segmentDir, readdirSync(segmentDir)[0]!);
    const bytes = readFileSync(path);
    const offset = written[0]!.bytes.length + written[1]!.bytes.length + 60; // inside record 3's body
    bytes[offset]! ^= 0x01;
    writeFileSync(path, bytes);
    const error = await FileLogStore.open(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStoreError);
    expect((error as CorruptStoreError).seq).toBe(7n);
    expect(statSync(path).size).toBe(bytes.length);
    // A reader is refused the same way: it never serves records past damage silently.
    await expect(FileLogStore.open({ ...options, mode: 'reader' })).rejects.toBeInstanceOf(CorruptStoreError);
  });

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
