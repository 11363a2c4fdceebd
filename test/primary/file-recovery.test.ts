/**
 * A writer start over a file log whose tail was damaged (DESIGN.md "Stores", "Write
 * path"): when the damage is in a synced record (at or below the recovery point) the
 * start refuses with a CorruptStoreError naming the seq, and nothing is cut or reused;
 * when it is a torn tail past the mark, the file store cuts it with a warning and
 * PrimaryWriter.start's reconcile restores the lost records, byte for byte, from the
 * other store (here the memory store).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptStoreError } from '../../src/core/errors.js';
import { seq, type Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { FileLogStore } from '../../src/stores/file/file-store.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import type { LogStore } from '../../src/stores/log-store.js';
import { collect } from '../contract/log-store.contract.js';
import { testCompression } from '../helpers/entries.js';

const dataDir = mkdtempSync(join(tmpdir(), 'oplog-file-recovery-primary-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const compression = testCompression();
const op = (i: number): Op => ({ type: 'put', key: `k${i}`, value: new TextEncoder().encode(`v${i}`) });
const hexes = async (store: LogStore) =>
  (await collect(store.read(seq(1n)))).map((r) => Buffer.from(r.bytes).toString('hex'));
let counter = 0;

/**
 * Writes 20 ops one by one through a writer on [file, memory]; with `unmarkLast`, puts
 * the file's mark back to where it was before the last op: what a crash after that
 * op's fdatasync, before its mark, leaves on disk.
 */
async function writeLog(unmarkLast: boolean) {
  const warnings: string[] = [];
  const options = { dataDir, clusterId: `p${++counter}`, warn: (m: string) => warnings.push(m) };
  const markPath = join(dataDir, options.clusterId, 'recovery-point');
  const file = await FileLogStore.open(options);
  const memory = new MemoryLogStore();
  const primary = await PrimaryWriter.start({ stores: [file, memory], compression });
  for (let i = 0; i < 19; i++) await primary.append(op(i));
  const savedMark = unmarkLast ? readFileSync(markPath) : undefined;
  expect(await primary.append(op(19))).toBe(20n);
  await primary.close();
  await file.close();
  if (savedMark !== undefined) writeFileSync(markPath, savedMark);
  const segmentDir = join(dataDir, options.clusterId, 'segments');
  const segment = join(segmentDir, readdirSync(segmentDir).sort().at(-1)!);
  return { options, memory, segment, warnings };
}

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset]! ^= 0x01;
  writeFileSync(path, bytes);
}

describe('writer start over a damaged file log, with a memory store beside it', () => {
  it('refuses when the last, synced record is damaged: CorruptStoreError naming seq 20; nothing cut', async () => {
    const { options, segment } = await writeLog(false);
    const size = statSync(segment).size;
    flipByte(segment, size - 2);
    const error = await FileLogStore.open(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStoreError);
    expect(error).toMatchObject({ seq: 20n, path: segment, check: 'body-checksum' });
    expect((error as Error).message).toContain('seq 20');
    expect(statSync(segment).size).toBe(size);
  });

  it('cuts a torn tail past the mark with a warning, and reconcile restores it from the memory store', async () => {
    const { options, memory, segment, warnings } = await writeLog(true);
    const size = statSync(segment).size;
    flipByte(segment, size - 2); // the last record, past the restored mark
    const file = await FileLogStore.open(options);
    expect(file.recovery.tornTail).toMatchObject({ action: 'cut', fromSeq: 20n, toSeq: 20n });
    expect(warnings).toEqual([expect.stringContaining('seq 20 (body-checksum check failed)')]);
    expect((await file.head()).lastSeq).toBe(19n);
    const primary = await PrimaryWriter.start({ stores: [file, memory], compression });
    expect(primary.nextSeq).toBe(21n);
    expect(await hexes(file)).toEqual(await hexes(memory));
    expect(await primary.append(op(20))).toBe(21n);
    await primary.close();
    await file.close();
    expect(statSync(segment).size).toBeGreaterThan(size);
  });
});
