/**
 * The file store's pipelined recovery point: an append resolves only once the mark
 * covering it is durable (its mark write is held here, and nothing resolves meanwhile);
 * a byte-identical retry of a record whose mark is still in flight is a duplicate, not
 * a conflict; a failed mark write fails its group and every later one; work queued
 * before close() still runs, work after it is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ClosedError, StoreUnavailableError } from '../../src/core/errors.js';
import { epoch } from '../../src/core/types.js';
import { FileLogStore } from '../../src/stores/file/file-store.js';
import { RecoveryPointFile } from '../../src/stores/file/recovery-point.js';
import { makeRecord } from '../helpers/entries.js';
import { until } from '../helpers/waiting.js';

const dataDir = mkdtempSync(join(tmpdir(), 'oplog-file-mark-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());
let clusters = 0;

/** Holds every mark write until release(); counts the writes that started. */
function holdMarks(): { started: () => number; release: () => void } {
  const real = RecoveryPointFile.prototype.write;
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  let started = 0;
  vi.spyOn(RecoveryPointFile.prototype, 'write').mockImplementation(async function (
    this: RecoveryPointFile,
    point,
  ) {
    started++;
    await gate;
    return real.call(this, point);
  });
  return { started: () => started, release: () => open() };
}

async function writer(): Promise<FileLogStore> {
  const store = await FileLogStore.open({ dataDir, clusterId: `m${++clusters}`, warn: () => {} });
  await store.fence(epoch(1n));
  return store;
}

const state = (p: Promise<unknown>) => {
  const s = { settled: false };
  void p.then(
    () => (s.settled = true),
    () => (s.settled = true),
  );
  return s;
};

describe('file store: the recovery point in flight', () => {
  it('an append resolves only once its mark is durable, and head() shows it only then', async () => {
    const store = await writer();
    const marks = holdMarks();
    const appended = store.append(makeRecord(1n, 3), epoch(1n));
    const seen = state(appended);
    await until(() => marks.started() === 1, 'the mark write to start');
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.settled).toBe(false);
    expect((await store.head()).lastSeq).toBe(0n);
    marks.release();
    await appended;
    expect((await store.head()).lastSeq).toBe(3n);
    await store.close();
  });

  it('a byte-identical retry written while the mark is in flight is a duplicate, not a conflict', async () => {
    const store = await writer();
    const marks = holdMarks();
    // Hold the first group's data fdatasync, so the next appends queue behind it and are
    // written as a second group while the first group's mark is held.
    const probe = await open(join(dataDir, 'probe'), 'w');
    const fileHandle = Object.getPrototypeOf(probe) as { datasync(): Promise<void> };
    await probe.close();
    const realSync = fileHandle.datasync;
    let releaseSync: () => void = () => {};
    const syncGate = new Promise<void>((resolve) => (releaseSync = resolve));
    let syncs = 0;
    vi.spyOn(fileHandle, 'datasync').mockImplementation(async function (this: unknown) {
      if (++syncs === 1) await syncGate;
      return realSync.call(this);
    });
    const record = makeRecord(1n, 3);
    const first = store.append(record, epoch(1n));
    await until(() => syncs === 1, 'the first group to sync');
    const next = store.append(makeRecord(4n, 3), epoch(1n));
    const retry = store.append(record, epoch(1n));
    releaseSync();
    await until(() => marks.started() === 1, 'the first mark write to start');
    await new Promise((r) => setTimeout(r, 20));
    marks.release();
    await expect(Promise.all([first, next, retry])).resolves.toBeDefined();
    expect((await store.head()).lastSeq).toBe(6n);
    await store.close();
  });

  it('a failed mark write fails its group and every later one', async () => {
    const store = await writer();
    vi.spyOn(RecoveryPointFile.prototype, 'write').mockRejectedValueOnce(new Error('EIO'));
    await expect(store.append(makeRecord(1n, 3), epoch(1n))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.append(makeRecord(4n, 3), epoch(1n))).rejects.toBeInstanceOf(StoreUnavailableError);
    await store.close();
  });

  it('work queued before close() runs; work after it is refused', async () => {
    const store = await writer();
    const marks = holdMarks();
    const first = store.append(makeRecord(1n, 3), epoch(1n));
    await until(() => marks.started() === 1, 'the mark write to start');
    const queued = store.append(makeRecord(4n, 3), epoch(1n));
    const fence = store.fence(epoch(2n));
    const closing = store.close();
    await expect(store.append(makeRecord(7n, 3), epoch(2n))).rejects.toBeInstanceOf(ClosedError);
    marks.release();
    await expect(Promise.all([first, queued, fence, closing])).resolves.toBeDefined();
    const reader = await FileLogStore.open({ dataDir, clusterId: `m${clusters}`, mode: 'reader' });
    expect((await reader.head()).lastSeq).toBe(6n);
    expect(await reader.currentEpoch()).toBe(2n);
    await reader.close();
  });
});
