/**
 * Replay into a fresh node: the newest usable snapshot plus the log reach exactly the
 * state the log's prefix defines — to the head, to a seq, or to a time (entry
 * timestamps injected through the writer's clock) — with or without snapshots; a log
 * that does not continue the snapshot (a missing record, a snapshot ahead of the log)
 * is a typed error, never a silently different state. And `oplog replay` on the file
 * store and on a real etcd.
 */
import { Kafka, logLevel } from 'kafkajs';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/cli/replay.js';
import {
  CorruptStoreError,
  IntegrityError,
  InvalidClusterIdError,
  InvalidInputError,
  ReplayTruncatedError,
} from '../../src/core/errors.js';
import { seq as toSeqBrand, type Entry, type Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { replay } from '../../src/snapshot/replay.js';
import { FileSnapshotStore } from '../../src/snapshot/snapshot-store.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { FileLogStore } from '../../src/stores/file/file-store.js';
import type { LogStore } from '../../src/stores/log-store.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { testCompression } from '../helpers/entries.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';

const compression = testCompression();
const dataDir = mkdtempSync(join(tmpdir(), 'oplog-replay-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const T0 = 1_800_000_000_000;
const silent = { out: () => {}, err: () => {} };

const op = (i: number): Op =>
  i % 7 === 6
    ? { type: 'delete', key: `k${(i * 31) % 97}`, value: new Uint8Array(0) }
    : { type: 'put', key: `k${(i * 31) % 97}`, value: Buffer.from(`v${i}`) };

/** The state after applying ops 0..n-1 (seqs 1..n). */
function expectedHash(n: number): bigint {
  const kv = new KvStateMachine();
  for (let i = 0; i < n; i++)
    kv.apply({ ...op(i), seq: BigInt(i + 1), epoch: 1n, ts: 0, checksum: 0n } as Entry);
  return kv.hash();
}

/**
 * 600 entries in 6 appendMany calls; entry i is stamped T0 + 1000·⌊i/100⌋ (the writer's
 * clock is injected). Snapshots are taken (from an exact replay) at seqs 200 and 400.
 */
async function writeLog(store: LogStore, snapshots: FileSnapshotStore | undefined): Promise<void> {
  let now = T0;
  const primary = await PrimaryWriter.start({ stores: [store], compression, nowMs: () => now });
  for (let round = 0; round < 6; round++) {
    now = T0 + round * 1000;
    await primary.appendMany(Array.from({ length: 100 }, (_, i) => op(round * 100 + i)));
    if (snapshots !== undefined && (round === 1 || round === 3)) {
      const kv = new KvStateMachine();
      const at = BigInt((round + 1) * 100);
      await replay({ store, stateMachine: kv, compression, toSeq: at });
      await snapshots.save({
        lastSeq: at,
        epoch: 1n,
        lastEntryTs: now,
        image: kv.snapshot(),
        stateHash: kv.hash(),
      });
    }
  }
  await primary.close();
}

describe('replay', () => {
  it('reaches the same state to the head, to a seq, to a time, with or without snapshots', async () => {
    const clusterId = 'replay-file';
    const writer = await FileLogStore.open({ dataDir, clusterId });
    const snapshots = new FileSnapshotStore({ dataDir, clusterId }, compression);
    await writeLog(writer, snapshots);
    await writer.close();
    const store = await FileLogStore.open({ dataDir, clusterId, mode: 'reader' });

    const full = await replay({ store, stateMachine: new KvStateMachine(), compression, snapshots });
    expect(full).toMatchObject({ appliedSeq: 600n, replayedEntries: 200, stoppedAt: 'head', headSeq: 600n });
    expect(full.snapshot?.lastSeq).toBe(400n);
    expect(full.hash).toBe(expectedHash(600));

    const plain = await replay({ store, stateMachine: new KvStateMachine(), compression });
    expect(plain).toMatchObject({ snapshot: undefined, replayedEntries: 600, hash: full.hash });

    const toSeq = await replay({
      store,
      stateMachine: new KvStateMachine(),
      compression,
      snapshots,
      toSeq: 333n,
    });
    expect(toSeq).toMatchObject({ appliedSeq: 333n, replayedEntries: 133, stoppedAt: 'seq' });
    expect(toSeq.snapshot?.lastSeq).toBe(200n);
    expect(toSeq.hash).toBe(expectedHash(333));

    // Up to T0 + 2.5 s: rounds 0..2 (seq 1..300); the snapshot at 400 (stamped T0 + 3 s) does not fit.
    const toTime = await replay({
      store,
      stateMachine: new KvStateMachine(),
      compression,
      snapshots,
      toTimeMs: T0 + 2500,
    });
    expect(toTime).toMatchObject({ appliedSeq: 300n, stoppedAt: 'time' });
    expect(toTime.snapshot?.lastSeq).toBe(200n);
    expect(toTime.hash).toBe(expectedHash(300));
    await store.close();
  });

  it('refuses a log that does not continue the snapshot', async () => {
    const inner = new MemoryLogStore();
    const store = new FlakyStore(inner);
    const snapshots = new FileSnapshotStore({ dataDir, clusterId: 'replay-gap' }, compression);
    await writeLog(store, snapshots);
    const missing = (await (async () => {
      for await (const r of inner.read(450n as never)) if (r.firstSeq > 400n) return r.firstSeq;
      return undefined;
    })())!;
    store.hide.add(missing); // a record lost from the store after the last snapshot
    await expect(
      replay({ store, stateMachine: new KvStateMachine(), compression, snapshots }),
    ).rejects.toBeInstanceOf(CorruptStoreError);

    const ahead = new KvStateMachine();
    await snapshots.save({
      lastSeq: 900n,
      epoch: 1n,
      lastEntryTs: T0,
      image: ahead.snapshot(),
      stateHash: ahead.hash(),
    });
    store.hide.clear();
    await expect(
      replay({ store, stateMachine: new KvStateMachine(), compression, snapshots }),
    ).rejects.toBeInstanceOf(IntegrityError);
  });

  it('oplog replay: prints the hash; bad arguments are typed errors', async () => {
    const lines: string[] = [];
    expect(
      await replayCommand(['--data-dir', dataDir, '--cluster-id', 'replay-file', '--to-seq', '450'], {
        out: (l) => lines.push(l),
        err: () => {},
      }),
    ).toBe(0);
    expect(lines).toContain(`state hash ${expectedHash(450).toString(16).padStart(16, '0')}`);
    expect(lines[0]).toMatch(/^restored snapshot at seq 400 /);
    await expect(
      replayCommand(['--data-dir', dataDir, '--cluster-id', '../x'], silent),
    ).rejects.toBeInstanceOf(InvalidClusterIdError);
    for (const args of [
      ['--data-dir', dataDir, '--to-seq=-1'],
      ['--data-dir', dataDir, '--to-seq', '18446744073709551616'],
      ['--data-dir', dataDir, '--to-time', 'tomorrowish'],
      ['--data-dir', dataDir, '--to-seq', '5', '--to-time', '2026-01-01T00:00:00Z'],
      ['--store', 'tape', '--data-dir', dataDir],
      ['--store', 'etcd'],
      ['--data-dir', join(dataDir, 'no-such-dir')], // a typo must not read as an empty log
      ['--data-dir', dataDir, '--cluster-id', 'no-such-cluster'],
      ['--data-dir', dataDir, '--cluster-id', 'replay-file', '--to-seq', '601'], // past the head (600)
    ])
      await expect(replayCommand(args, silent), args.join(' ')).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('replay falls back past damaged snapshots', () => {
  // One log (seq 1..600, snapshots at 200 and 400); each case damages its own copy of
  // the snapshots directory.
  const clusterId = 'replay-fallback';
  let store: FileLogStore;
  beforeAll(async () => {
    const writer = await FileLogStore.open({ dataDir, clusterId });
    await writeLog(writer, new FileSnapshotStore({ dataDir, clusterId }, compression));
    await writer.close();
    store = await FileLogStore.open({ dataDir, clusterId, mode: 'reader' });
  });
  afterAll(() => store.close());

  let copies = 0;
  function snapshotCopy(): {
    snapshots: FileSnapshotStore;
    body: (s: number) => string;
    manifest: (s: number) => string;
  } {
    const copyDir = join(dataDir, `fallback-copy-${copies++}`);
    cpSync(join(dataDir, clusterId, 'snapshots'), join(copyDir, clusterId, 'snapshots'), { recursive: true });
    const snapshots = new FileSnapshotStore({ dataDir: copyDir, clusterId }, compression);
    return {
      snapshots,
      body: (s) => snapshots.bodyPath(BigInt(s)),
      manifest: (s) => snapshots.manifestPath(BigInt(s)),
    };
  }
  const flip = (path: string) => {
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(path, bytes);
  };

  it.each([
    [
      'a flipped byte in the body',
      (c: ReturnType<typeof snapshotCopy>) => flip(c.body(400)),
      'OPLOG_CHECKSUM_MISMATCH',
    ],
    [
      'a truncated body',
      (c: ReturnType<typeof snapshotCopy>) => truncateSync(c.body(400), 10),
      'OPLOG_MALFORMED',
    ],
    ['a missing body', (c: ReturnType<typeof snapshotCopy>) => rmSync(c.body(400)), 'ENOENT'],
    [
      'a manifest that is not JSON',
      (c: ReturnType<typeof snapshotCopy>) => writeFileSync(c.manifest(400), '{"format": "oplog-sn'),
      'OPLOG_MALFORMED',
    ],
    [
      'a manifest whose state hash the body does not restore to',
      (c: ReturnType<typeof snapshotCopy>) => {
        const manifest = JSON.parse(readFileSync(c.manifest(400), 'utf8')) as Record<string, unknown>;
        writeFileSync(c.manifest(400), JSON.stringify({ ...manifest, stateHash: '0123456789abcdef' }));
      },
      'OPLOG_INTEGRITY',
    ],
  ])('%s: the snapshot before it is used, and the refused one named', async (_name, damage, code) => {
    const copy = snapshotCopy();
    damage(copy);
    const result = await replay({
      store,
      stateMachine: new KvStateMachine(),
      compression,
      snapshots: copy.snapshots,
    });
    expect(result.snapshot?.lastSeq).toBe(200n);
    expect(result.refusedSnapshots.map((r) => r.lastSeq)).toEqual([400n]);
    expect(result.refusedSnapshots[0]!.reason).toContain(code);
    expect(result).toMatchObject({ appliedSeq: 600n, replayedEntries: 400, hash: expectedHash(600) });
  });

  it('no usable snapshot: replays from seq 1 on a clean state while the log starts there', async () => {
    const copy = snapshotCopy();
    // The newest restores (and then fails its hash check): the state must be reset.
    const manifest = JSON.parse(readFileSync(copy.manifest(400), 'utf8')) as Record<string, unknown>;
    writeFileSync(copy.manifest(400), JSON.stringify({ ...manifest, stateHash: '0123456789abcdef' }));
    flip(copy.body(200));
    const result = await replay({
      store,
      stateMachine: new KvStateMachine(),
      compression,
      snapshots: copy.snapshots,
    });
    expect(result.snapshot).toBeUndefined();
    expect(result.refusedSnapshots.map((r) => r.lastSeq)).toEqual([400n, 200n]);
    expect(result).toMatchObject({ appliedSeq: 600n, replayedEntries: 600, hash: expectedHash(600) });
  });

  it('no usable snapshot and a log that no longer starts at seq 1: an error naming the refused ones', async () => {
    const memory = new MemoryLogStore();
    const snapshots = new FileSnapshotStore({ dataDir, clusterId: 'replay-fallback-truncated' }, compression);
    await writeLog(memory, snapshots);
    await memory.truncateBefore(toSeqBrand(350n));
    flip(snapshots.bodyPath(400n));
    const older = replay({ store: memory, stateMachine: new KvStateMachine(), compression, snapshots });
    await expect(older).rejects.toBeInstanceOf(ReplayTruncatedError);
    await expect(older).rejects.toThrow(
      /the newest usable snapshot is at seq 200 \(refused: seq 400: OPLOG_CHECKSUM_MISMATCH.*the log starts at seq \d+/,
    );
    flip(snapshots.bodyPath(200n));
    const refused = replay({ store: memory, stateMachine: new KvStateMachine(), compression, snapshots });
    await expect(refused).rejects.toBeInstanceOf(ReplayTruncatedError);
    await expect(refused).rejects.toThrow(
      /no usable snapshot \(refused: seq 400: OPLOG_CHECKSUM_MISMATCH.*seq 200: OPLOG_CHECKSUM_MISMATCH.*the log starts at seq \d+/,
    );
  });

  it('--to-seq past the head is an error, not "stopped at head"', async () => {
    await expect(
      replay({ store, stateMachine: new KvStateMachine(), compression, toSeq: 601n }),
    ).rejects.toThrow(new InvalidInputError('toSeq', "seq 601 is past the log's head, seq 600"));
    const atHead = await replay({ store, stateMachine: new KvStateMachine(), compression, toSeq: 600n });
    expect(atHead).toMatchObject({ appliedSeq: 600n, hash: expectedHash(600) });
  });

  it('oplog replay warns on stderr naming the refused snapshot, and still succeeds', async () => {
    const copy = snapshotCopy();
    flip(copy.body(400));
    const out: string[] = [];
    const err: string[] = [];
    const code = await replayCommand(
      [
        '--data-dir',
        dataDir,
        '--snapshot-dir',
        join(copy.snapshots.dir, '..', '..'),
        '--cluster-id',
        clusterId,
      ],
      { out: (l) => out.push(l), err: (l) => err.push(l) },
    );
    expect(code).toBe(0);
    expect(err).toEqual([
      expect.stringMatching(
        /^warning: refused the snapshot at seq 400 \(.*\): OPLOG_CHECKSUM_MISMATCH snapshot-body checksum mismatch at seq 400/,
      ),
    ]);
    expect(out[0]).toMatch(/^restored snapshot at seq 200 /);
    expect(out).toContain(`state hash ${expectedHash(600).toString(16).padStart(16, '0')}`);
  });
});

describeWithEtcd('replay from etcd', (endpoint) => {
  it('oplog replay --store etcd reaches the same hash as the log defines', async () => {
    const clusterId = `replay-etcd-${process.pid}-${Date.now()}`;
    const writer = new EtcdLogStore({ hosts: endpoint, clusterId });
    await writeLog(writer, undefined);
    await writer.close();
    const lines: string[] = [];
    const code = await replayCommand(
      ['--store', 'etcd', '--etcd', endpoint, '--cluster-id', clusterId, '--no-snapshot'],
      { out: (l) => lines.push(l), err: () => {} },
    );
    expect(code).toBe(0);
    expect(lines).toContain(`state hash ${expectedHash(600).toString(16).padStart(16, '0')}`);
  });
});

describeWithKafka('replay from Kafka', (endpoint) => {
  it('a cluster with no topics is refused, and nothing is created', async () => {
    const clusterId = `replay-none-${process.pid}-${Date.now()}`;
    const args = ['--store', 'kafka', '--kafka', endpoint, '--cluster-id', clusterId, '--no-snapshot'];
    await expect(replayCommand(args, silent)).rejects.toBeInstanceOf(InvalidInputError);
    const admin = new Kafka({ brokers: [endpoint], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    expect((await admin.listTopics()).filter((t) => t.includes(clusterId))).toEqual([]);
    await admin.disconnect();
  });
});
