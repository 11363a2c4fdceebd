/**
 * Snapshots on disk: the KV image round-trips, a snapshot exists only once its
 * manifest does (an orphan body from a crash is ignored), and damaged, truncated or
 * hostile files are typed errors before anything is restored; retention trims the log
 * only below a snapshot that loads.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChecksumMismatchError, InvalidClusterIdError, MalformedError } from '../../src/core/errors.js';
import { truncateToSnapshot } from '../../src/snapshot/retention.js';
import { FileSnapshotStore } from '../../src/snapshot/snapshot-store.js';
import { epoch, seq } from '../../src/core/types.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { appendRun, collect } from '../contract/log-store.contract.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { testCompression } from '../helpers/entries.js';

const compression = testCompression();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oplog-snap-'));
  dirs.push(dir);
  return dir;
}

function kvWith(n: number, offset = 0): KvStateMachine {
  const kv = new KvStateMachine();
  for (let i = 0; i < n; i++)
    kv.apply({
      seq: BigInt(i + 1),
      epoch: 1n,
      ts: 0,
      type: i % 5 === 4 ? 'delete' : 'put',
      key: `key-${(i + offset) % 37}`,
      value: Buffer.from(`value-${i}`),
    } as never);
  return kv;
}

async function saved(store: FileSnapshotStore, kv: KvStateMachine, lastSeq: bigint) {
  return store.save({
    lastSeq,
    epoch: 3n,
    lastEntryTs: 1_700_000_000_000,
    image: kv.snapshot(),
    stateHash: kv.hash(),
  });
}

describe('KV state image', () => {
  it('restores to an equal state, and a malformed image leaves the state untouched', () => {
    const kv = kvWith(200);
    const copy = new KvStateMachine();
    copy.restore(kv.snapshot().bytes);
    expect(copy.hash()).toBe(kv.hash());
    expect(copy.size).toBe(kv.size);

    const before = copy.hash();
    expect(() => copy.restore(Uint8Array.of(0xc1))).toThrow(MalformedError);
    expect(() => copy.restore(new Uint8Array(Buffer.from([0x91, 0x92, 0x01, 0x02])))).toThrow(MalformedError);
    expect(copy.hash()).toBe(before);
  });
});

describe('FileSnapshotStore', () => {
  it('saves and loads the latest complete snapshot; prune keeps the newest', async () => {
    const store = new FileSnapshotStore({ dataDir: tempDir(), clusterId: 'orders' }, compression);
    expect(await store.latest()).toBeUndefined();
    const older = kvWith(50);
    const newer = kvWith(120, 3);
    await saved(store, older, 50n);
    const manifest = await saved(store, newer, 120n);
    expect(manifest).toMatchObject({ lastSeq: 120n, epoch: 3n, items: newer.size, clusterId: 'orders' });
    expect((await store.list()).map((m) => m.lastSeq)).toEqual([50n, 120n]);

    const latest = (await store.latest())!;
    expect(latest).toEqual(manifest);
    const restored = new KvStateMachine();
    restored.restore((await store.load(latest)).image);
    expect(restored.hash()).toBe(newer.hash());

    await store.prune(1);
    expect((await store.list()).map((m) => m.lastSeq)).toEqual([120n]);
    expect(readdirSync(store.dir).sort()).toEqual([
      '00000000000000000120.body',
      '00000000000000000120.manifest.json',
    ]);
  });

  it('ignores an orphan body (a crash between the body and its manifest)', async () => {
    const store = new FileSnapshotStore({ dataDir: tempDir(), clusterId: 'orders' }, compression);
    await saved(store, kvWith(10), 10n);
    writeFileSync(join(store.dir, '00000000000000000099.body'), 'partial');
    writeFileSync(join(store.dir, '00000000000000000099.manifest.json.tmp'), '{"format":');
    expect((await store.latest())?.lastSeq).toBe(10n);
  });

  it('reports a damaged or truncated body before restoring anything', async () => {
    const store = new FileSnapshotStore({ dataDir: tempDir(), clusterId: 'orders' }, compression);
    const manifest = await saved(store, kvWith(300), 300n);
    const bodyPath = join(store.dir, '00000000000000000300.body');
    const body = readFileSync(bodyPath);

    const flipped = Buffer.from(body);
    flipped[flipped.length >> 1]! ^= 0x01;
    writeFileSync(bodyPath, flipped);
    await expect(store.load(manifest)).rejects.toBeInstanceOf(ChecksumMismatchError);

    writeFileSync(bodyPath, body.subarray(0, body.length - 7));
    await expect(store.load(manifest)).rejects.toBeInstanceOf(MalformedError);
  });

  it('rejects damaged and hostile manifests with MalformedError', async () => {
    const store = new FileSnapshotStore({ dataDir: tempDir(), clusterId: 'orders' }, compression);
    await saved(store, kvWith(5), 5n);
    const path = join(store.dir, '00000000000000000005.manifest.json');
    const good = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    for (const change of [
      { lastSeq: '-1' },
      { lastSeq: 5 },
      { lastSeq: '1e5' },
      { epoch: '18446744073709551616' },
      { rawBytes: 2 ** 40 },
      { bodyChecksum: '../../etc/passwd' },
      { version: 2 },
      { clusterId: 'other' },
      { createdAt: 'yesterday' },
      { lastEntryTs: -5 },
      { lastEntryTs: '12' },
    ]) {
      writeFileSync(path, JSON.stringify({ ...good, ...change }));
      await expect(store.list(), JSON.stringify(change)).rejects.toBeInstanceOf(MalformedError);
    }
    writeFileSync(path, '{"format": "oplog-snap');
    await expect(store.latest()).rejects.toBeInstanceOf(MalformedError);
  });

  it('refuses a hostile cluster id before touching the disk', () => {
    const dataDir = tempDir();
    for (const clusterId of ['../x', 'a/b', '', '..']) {
      expect(() => new FileSnapshotStore({ dataDir, clusterId }, compression)).toThrow(InvalidClusterIdError);
    }
    expect(existsSync(join(dataDir, 'x'))).toBe(false);
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('retention and damaged snapshots', () => {
  it('truncateToSnapshot trims only below the newest snapshot that loads', async () => {
    const store = new FileSnapshotStore({ dataDir: tempDir(), clusterId: 'c' }, compression);
    await saved(store, kvWith(10), 100n);
    await saved(store, kvWith(20), 200n);
    const body = store.bodyPath(200n);
    const bytes = readFileSync(body);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(body, bytes);
    const log = new MemoryLogStore();
    await log.fence(epoch(1n));
    await appendRun(log, { records: 100, entries: 3 });
    expect(await truncateToSnapshot([log], store)).toBe(100n);
    const [first] = await collect(log.read(seq(100n), 1));
    expect(first!.firstSeq).toBeLessThanOrEqual(100n);
  });
});
