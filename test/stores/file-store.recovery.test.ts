/**
 * The file store's recovery point (DESIGN.md "Stores"): damage at or below the mark —
 * a flipped byte in the body of the last, synced record, a record cut short — is a
 * CorruptStoreError naming file, offset, seq and check, in writer and reader mode, and
 * nothing is cut; bytes past the mark (what a crash leaves after a write whose mark
 * never landed) are a torn tail, cut by a writer with a warning naming the byte range
 * and seqs, reported in `store.recovery` and recorded in the cut log (so a reader opened
 * later still sees it), and left in place by a reader. A torn mark
 * slot falls back to the other; two damaged slots are corruption. A log with no mark
 * (written before marks) opens by the old rule and gets one. Rollover and retention
 * keep the mark in the last segment.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptStoreError } from '../../src/core/errors.js';
import type { BatchRecord } from '../../src/core/record-codec.js';
import { epoch, seq } from '../../src/core/types.js';
import { FileLogStore, type FileStoreOptions } from '../../src/stores/file/file-store.js';
import { appendRun, collect } from '../contract/log-store.contract.js';
import { makeRecord } from '../helpers/entries.js';

const dataDir = mkdtempSync(join(tmpdir(), 'oplog-file-recovery-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
let counter = 0;

interface Written {
  readonly options: FileStoreOptions;
  readonly written: BatchRecord[];
  readonly segmentDir: string;
  readonly markPath: string;
  readonly warnings: string[];
}

/**
 * A closed log of `records` records of 3 entries (seqs 1..3, 4..6, …). With `markedRecords`,
 * the mark is put back to where it was after that many records: what the disk holds after
 * a crash that came after the later records' write, before their mark.
 */
async function writtenStore(
  records: number,
  { markedRecords, ...extra }: Partial<FileStoreOptions> & { markedRecords?: number } = {},
): Promise<Written> {
  const warnings: string[] = [];
  const options = { dataDir, clusterId: `r${++counter}`, warn: (m: string) => warnings.push(m), ...extra };
  const markPath = join(dataDir, options.clusterId, 'recovery-point');
  const store = await FileLogStore.open(options);
  await store.fence(epoch(1n));
  const written = await appendRun(store, { records: markedRecords ?? records });
  const savedMark = markedRecords === undefined ? undefined : readFileSync(markPath);
  written.push(
    ...(await appendRun(store, { records: records - written.length, from: written.at(-1)!.lastSeq + 1n })),
  );
  await store.close();
  if (savedMark !== undefined) writeFileSync(markPath, savedMark);
  return { options, written, segmentDir: join(dataDir, options.clusterId, 'segments'), markPath, warnings };
}

function segmentPaths(segmentDir: string): string[] {
  return readdirSync(segmentDir)
    .sort()
    .map((name) => join(segmentDir, name));
}

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset]! ^= 0x01;
  writeFileSync(path, bytes);
}

const openError = (options: FileStoreOptions) => FileLogStore.open(options).catch((e: unknown) => e);

describe('file store: damage at or below the recovery point', () => {
  it('refuses a flipped byte in the body of the last, synced record, naming file, offset, seq and check', async () => {
    const { options, written, segmentDir } = await writtenStore(5);
    const [path] = segmentPaths(segmentDir);
    const size = statSync(path!).size;
    const lastOffset = size - written[4]!.bytes.length;
    flipByte(path!, size - 3); // in the body: full length, valid header checksum
    for (const mode of ['writer', 'reader'] as const) {
      const error = await openError({ ...options, mode });
      expect(error).toBeInstanceOf(CorruptStoreError);
      expect(error).toMatchObject({ seq: 13n, path, offset: lastOffset, check: 'body-checksum' });
    }
    expect(statSync(path!).size).toBe(size);
  });

  it('refuses a synced last record cut short (it was acknowledged), and cuts nothing', async () => {
    const { options, written, segmentDir } = await writtenStore(5);
    const [path] = segmentPaths(segmentDir);
    const size = statSync(path!).size;
    truncateSync(path!, size - Math.floor(written[4]!.bytes.length / 2));
    const error = await openError(options);
    expect(error).toMatchObject({ seq: 13n, offset: size - written[4]!.bytes.length, check: 'incomplete' });
    // Cut exactly at a record boundary below the mark: the file is shorter than the mark.
    truncateSync(path!, size - written[4]!.bytes.length);
    expect(await openError(options)).toMatchObject({ seq: 13n, check: 'recovery-point' });
    expect(statSync(path!).size).toBe(size - written[4]!.bytes.length);
  });

  it('refuses damage in the last record of the last segment after rollover and retention', async () => {
    const { options, segmentDir } = await writtenStore(4, { segmentBytesMax: 1 });
    const store = await FileLogStore.open(options);
    await store.truncateBefore(seq(7n));
    await store.close();
    const paths = segmentPaths(segmentDir);
    expect(paths.length).toBe(2); // 7.. and 10..
    flipByte(paths[1]!, statSync(paths[1]!).size - 2);
    expect(await openError(options)).toMatchObject({
      seq: 10n,
      path: paths[1],
      offset: 0,
      check: 'body-checksum',
    });
  });

  it('refuses a mark whose two slots are both damaged; uses the other slot when one is torn', async () => {
    const { options, markPath } = await writtenStore(3);
    const mark = readFileSync(markPath);
    // The newest slot torn (as by a crash mid-write): the older mark is used; the log opens.
    const torn = Buffer.from(mark);
    const newest = torn.readBigUInt64BE(8) > torn.readBigUInt64BE(4096 + 8) ? 0 : 4096;
    torn[newest + 20]! ^= 0xff;
    writeFileSync(markPath, torn);
    const store = await FileLogStore.open(options);
    expect(store.recovery.recoveryPointTornSlot).toBe(true);
    expect(await store.head()).toEqual({ lastSeq: 9n, epoch: 1n });
    await store.append(makeRecord(10n, 1), epoch(1n));
    await store.close();
    // The older slot torn, the newest intact and current: the open still rewrites the torn one.
    const older = readFileSync(markPath);
    older[(older.readBigUInt64BE(8) > older.readBigUInt64BE(4096 + 8) ? 4096 : 0) + 20]! ^= 0xff;
    writeFileSync(markPath, older);
    for (const tornSlot of [true, false]) {
      const reopened = await FileLogStore.open(options);
      expect(reopened.recovery.recoveryPointTornSlot).toBe(tornSlot);
      await reopened.close();
    }
    const both = readFileSync(markPath);
    both[20]! ^= 0xff;
    both[4096 + 20]! ^= 0xff;
    writeFileSync(markPath, both);
    expect(await openError(options)).toMatchObject({ check: 'recovery-point', path: markPath });
    expect(await openError({ ...options, mode: 'reader' })).toBeInstanceOf(CorruptStoreError);
  });

  it('refuses a middle record with a flipped byte, in both modes, and cuts nothing', async () => {
    const { options, written, segmentDir } = await writtenStore(5);
    const [path] = segmentPaths(segmentDir);
    flipByte(path!, written[0]!.bytes.length + written[1]!.bytes.length + 60);
    expect(await openError(options)).toMatchObject({ seq: 7n, check: 'body-checksum' });
    expect(await openError({ ...options, mode: 'reader' })).toMatchObject({ seq: 7n });
  });
});

describe('file store: a torn tail past the recovery point', () => {
  it('is cut at open with a warning naming the byte range and seqs, reported in store.recovery', async () => {
    const { options, written, segmentDir, warnings } = await writtenStore(5, { markedRecords: 4 });
    const [path] = segmentPaths(segmentDir);
    const size = statSync(path!).size;
    const from = size - written[4]!.bytes.length;
    truncateSync(path!, size - Math.floor(written[4]!.bytes.length / 2)); // the header survives
    const store = await FileLogStore.open(options);
    expect(await store.head()).toEqual({ lastSeq: 12n, epoch: 1n });
    expect(statSync(path!).size).toBe(from);
    const to = size - Math.floor(written[4]!.bytes.length / 2);
    expect(store.recovery.tornTail).toEqual({
      action: 'cut',
      check: 'incomplete',
      ranges: [{ path, fromOffset: from, toOffset: to }],
      fromSeq: 13n,
      toSeq: 15n,
    });
    expect(store.recovery.recoveryPoint?.lastSeq).toBe(12n);
    expect(warnings).toEqual([expect.stringContaining(`bytes ${from}..${to} of ${path}, seqs 13..15`)]);
    await store.append(makeRecord(13n, 2), epoch(1n));
    expect((await collect(store.read(seq(1n)))).map((r) => r.firstSeq)).toEqual([1n, 4n, 7n, 10n, 13n]);
    await store.close();
    // The cut is on record: a reader opened later (`oplog verify`) still sees it.
    const reader = await FileLogStore.open({ ...options, mode: 'reader' });
    expect(reader.recovery.tornTail).toBeUndefined();
    expect(reader.recovery.cuts).toEqual([
      expect.objectContaining({ fromSeq: 13n, toSeq: 15n, check: 'incomplete', recoveryPointSeq: 12n }),
    ]);
    expect(reader.recovery.cuts[0]!.ranges).toEqual([{ path, fromOffset: from, toOffset: to }]);
    await reader.close();
    // The mark moved past the new record: damage there is now refused.
    flipByte(path!, statSync(path!).size - 2);
    expect(await openError(options)).toMatchObject({ seq: 13n, check: 'body-checksum' });
  });

  it('cuts a damaged record past the mark and the valid ones after it (none was acknowledged)', async () => {
    const { options, written, segmentDir, warnings } = await writtenStore(5, { markedRecords: 3 });
    const [path] = segmentPaths(segmentDir);
    const from = written.slice(0, 3).reduce((n, r) => n + r.bytes.length, 0);
    flipByte(path!, from + written[3]!.bytes.length - 2); // record 4's body; record 5 intact
    const store = await FileLogStore.open(options);
    expect(await store.head()).toEqual({ lastSeq: 9n, epoch: 1n });
    expect(store.recovery.tornTail).toMatchObject({
      action: 'cut',
      check: 'body-checksum',
      fromSeq: 10n,
      toSeq: 15n,
    });
    expect(warnings[0]).toContain('seqs 10..15');
    await store.close();
  });

  it('cuts garbage appended after the last record (a torn write of a header), and later segment files', async () => {
    const { options, segmentDir, warnings } = await writtenStore(2);
    const [path] = segmentPaths(segmentDir);
    writeFileSync(
      path!,
      Buffer.concat([readFileSync(path!), Buffer.from(`OPLG\x01${'garbage '.repeat(8)}`)]),
    );
    const later = join(segmentDir, `${'7'.padStart(20, '0')}.seg`);
    writeFileSync(later, 'more garbage');
    const store = await FileLogStore.open(options);
    expect(await store.head()).toEqual({ lastSeq: 6n, epoch: 1n });
    expect(store.recovery.tornTail).toMatchObject({ check: 'header', fromSeq: 7n, toSeq: 7n });
    expect(store.recovery.tornTail?.ranges.map((r) => r.path)).toEqual([path, later]);
    expect(segmentPaths(segmentDir)).toEqual([path]);
    expect(warnings[0]).toContain('seq 7 (header check failed)');
    await store.close();
  });

  it('is left in place by a reader, which reports it; the next writer cuts it', async () => {
    const { options, written, segmentDir, warnings } = await writtenStore(5, { markedRecords: 4 });
    const [path] = segmentPaths(segmentDir);
    const size = statSync(path!).size;
    flipByte(path!, size - 2);
    const reader = await FileLogStore.open({ ...options, mode: 'reader' });
    expect(await reader.head()).toEqual({ lastSeq: 12n, epoch: 1n });
    expect(reader.recovery.tornTail).toMatchObject({ action: 'present', fromSeq: 13n, toSeq: 15n });
    expect((await collect(reader.read(seq(1n)))).length).toBe(4);
    await reader.close();
    expect(statSync(path!).size).toBe(size);
    expect(warnings).toEqual([]);
    const writer = await FileLogStore.open(options);
    expect(writer.recovery.tornTail).toMatchObject({ action: 'cut', fromSeq: 13n });
    expect(statSync(path!).size).toBe(size - written[4]!.bytes.length);
    await writer.close();
  });

  it('keeps a complete record past the mark (written, not yet marked) and marks it at open', async () => {
    const { options, segmentDir } = await writtenStore(5, { markedRecords: 3 });
    const store = await FileLogStore.open(options);
    expect(store.recovery.tornTail).toBeUndefined();
    expect(await store.head()).toEqual({ lastSeq: 15n, epoch: 1n });
    await store.close();
    const [path] = segmentPaths(segmentDir);
    flipByte(path!, statSync(path!).size - 2);
    expect(await openError(options)).toMatchObject({ seq: 13n });
  });
});

describe('file store: a log with no recovery point (written before marks)', () => {
  it('opens by the old rule with a warning, gets a mark, and from then on refuses damage below it', async () => {
    const { options, written, segmentDir, markPath, warnings } = await writtenStore(5);
    unlinkSync(markPath);
    const [path] = segmentPaths(segmentDir);
    const size = statSync(path!).size;
    truncateSync(path!, size - 5); // old rule: a bad last record is a torn tail
    const store = await FileLogStore.open(options);
    expect(await store.head()).toEqual({ lastSeq: 12n, epoch: 1n });
    expect(store.recovery).toMatchObject({
      recoveryPoint: undefined,
      tornTail: { action: 'cut', fromSeq: 13n },
    });
    expect(warnings).toEqual([
      expect.stringContaining('with no recovery point'),
      expect.stringContaining('no recovery point (a log written before marks'),
    ]);
    await store.close();
    expect(statSync(markPath).size).toBe(8192);
    truncateSync(path!, size - written[4]!.bytes.length - 5);
    expect(await openError(options)).toMatchObject({ seq: 10n, check: 'incomplete' });
  });

  it('still refuses damage with a valid record after it (the old rule)', async () => {
    const { options, written, segmentDir, markPath } = await writtenStore(3);
    unlinkSync(markPath);
    flipByte(segmentPaths(segmentDir)[0]!, written[0]!.bytes.length - 2);
    expect(await openError(options)).toMatchObject({ seq: 1n, check: 'body-checksum' });
  });

  it("with recoveryPoint 'off' (benchmark baselines) the writer removes the mark and keeps none", async () => {
    const { options, markPath } = await writtenStore(2);
    const store = await FileLogStore.open({ ...options, recoveryPoint: 'off' });
    await store.append(makeRecord(7n, 1), epoch(1n));
    await store.close();
    expect(() => statSync(markPath)).toThrow();
    const again = await FileLogStore.open(options);
    expect(await again.head()).toEqual({ lastSeq: 7n, epoch: 1n });
    await again.close();
    expect(statSync(markPath).size).toBe(8192);
  });
});

describe('file store: the mark and the segment files', () => {
  it('a crash right after a rollover (new segment written, mark still in the old one) loses nothing', async () => {
    const { options, segmentDir } = await writtenStore(3, { segmentBytesMax: 1, markedRecords: 2 });
    const store = await FileLogStore.open(options);
    expect(await store.head()).toEqual({ lastSeq: 9n, epoch: 1n });
    expect(store.recovery.recoveryPoint?.lastSeq).toBe(6n);
    await store.close();
    expect(segmentPaths(segmentDir).length).toBe(3);
  });

  it('refuses a mark naming a segment that is missing', async () => {
    const { options, segmentDir } = await writtenStore(3, { segmentBytesMax: 1 });
    unlinkSync(segmentPaths(segmentDir).at(-1)!);
    expect(await openError(options)).toMatchObject({ check: 'recovery-point', seq: 9n });
  });
});
