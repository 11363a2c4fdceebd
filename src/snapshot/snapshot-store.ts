/**
 * Snapshots on disk (DESIGN.md "Snapshots and replay"): `<dataDir>/<cluster>/snapshots/`
 * holds, per snapshot, `<20-digit lastSeq>.body` (the state image, zstd) and
 * `<20-digit lastSeq>.manifest.json`. Both are written atomically (temporary file,
 * fsync, rename, fsync the directory), the body first: a snapshot exists once its
 * manifest does, so a crash mid-write leaves at most an orphan body, never a manifest
 * pointing at missing or partial bytes.
 *
 * Loading checks the body's length and xxh64 against the manifest before decompressing
 * (bounded by the manifest's raw size), so damaged bytes are reported
 * (ChecksumMismatchError, MalformedError), never restored.
 *
 * Just over 350 lines because the store, its manifest format and the checks that tie
 * them are read and changed together.
 */
import { xxh64 } from '@node-rs/xxhash';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { validateClusterId } from '../core/cluster-id.js';
import type { Compression } from '../core/compression.js';
import {
  ChecksumMismatchError,
  IntegrityError,
  MalformedError,
  OplogError,
  TooLargeError,
} from '../core/errors.js';
import { epoch as toEpoch, seq as toSeq, type Epoch, type Seq } from '../core/types.js';
import { writeFileAtomic } from '../stores/durable-fs.js';
import type { StateImage, StateMachine } from './state-machine.js';

/** Largest state image a snapshot may hold (a Node Buffer's practical limit). */
export const SNAPSHOT_RAW_BYTES_MAX = 2 ** 31 - 1;

export interface SnapshotManifest {
  readonly format: 'oplog-snapshot';
  readonly version: 1;
  readonly clusterId: string;
  /** The state is exactly the log applied through this seq. */
  readonly lastSeq: Seq;
  /** Epoch of the entry at lastSeq: a node restored from it rejects lower epochs above it. */
  readonly epoch: Epoch;
  /** The primary's timestamp (ms) of the entry at lastSeq: point-in-time restores pick by it. */
  readonly lastEntryTs: number;
  readonly createdAt: string;
  /** Items in the state (keys, for the KV state machine). */
  readonly items: number;
  readonly rawBytes: number;
  readonly bodyBytes: number;
  /** xxh64 of the stored (compressed) body, 16 hex digits. */
  readonly bodyChecksum: string;
  /** StateMachine.hash() of the state at lastSeq, 16 hex digits; checked after restore. */
  readonly stateHash: string;
}

export interface Snapshot {
  readonly manifest: SnapshotManifest;
  /** The state image, for StateMachine.restore. */
  readonly image: Uint8Array;
}

export interface SnapshotInput {
  readonly lastSeq: bigint;
  readonly epoch: bigint;
  readonly lastEntryTs: number;
  readonly image: StateImage;
  readonly stateHash: bigint;
  readonly createdAt?: Date;
}

/** A snapshot passed over: its manifest or body is damaged, or it did not restore. */
export interface RefusedSnapshot {
  /** From the file name, since a damaged manifest cannot be trusted to say it. */
  readonly lastSeq: bigint;
  readonly path: string;
  /** The error, with its code (`OPLOG_CHECKSUM_MISMATCH …`). */
  readonly reason: string;
}

export interface SnapshotScan {
  /** Snapshots whose manifest is sound, oldest first (their bodies are not read yet). */
  readonly manifests: SnapshotManifest[];
  /** Manifests that are not, oldest first. */
  readonly refused: RefusedSnapshot[];
}

/**
 * Where a node's snapshots live: the port that replay, retention, `oplog verify` and
 * the standby's snapshot policy use. {@link FileSnapshotStore} is its adapter.
 */
export interface SnapshotStore {
  /** Where the snapshots are, for messages (a directory). */
  readonly location: string;
  /** Writes a snapshot durably; it exists once this resolves. */
  save(input: SnapshotInput): Promise<SnapshotManifest>;
  /** Every snapshot whose manifest is sound, and those whose manifest is not. */
  scan(): Promise<SnapshotScan>;
  /** The newest snapshot's manifest (sound manifests only). */
  latest(): Promise<SnapshotManifest | undefined>;
  /** The snapshot's image, checked against its manifest (size, xxh64) before use. */
  load(manifest: SnapshotManifest): Promise<Snapshot>;
  /** Keeps the newest `keep` snapshots, removing the rest. */
  prune(keep: number): Promise<void>;
  /** Where one snapshot's body is, for messages. */
  describe(lastSeq: bigint): string;
}

export class FileSnapshotStore implements SnapshotStore {
  readonly dir: string;
  private readonly clusterId: string;

  constructor(
    options: { readonly dataDir: string; readonly clusterId: string },
    private readonly compression: Compression,
  ) {
    this.clusterId = validateClusterId(options.clusterId);
    this.dir = snapshotsDir(options.dataDir, this.clusterId);
  }

  async save(input: SnapshotInput): Promise<SnapshotManifest> {
    if (input.image.bytes.length > SNAPSHOT_RAW_BYTES_MAX)
      throw new TooLargeError('snapshot image', input.image.bytes.length, SNAPSHOT_RAW_BYTES_MAX);
    const body = this.compression.compress(input.image.bytes);
    const manifest: SnapshotManifest = {
      format: 'oplog-snapshot',
      version: 1,
      clusterId: this.clusterId,
      lastSeq: toSeq(input.lastSeq),
      epoch: toEpoch(input.epoch),
      lastEntryTs: input.lastEntryTs,
      createdAt: (input.createdAt ?? new Date()).toISOString(),
      items: input.image.items,
      rawBytes: input.image.bytes.length,
      bodyBytes: body.length,
      bodyChecksum: hex(xxh64(body)),
      stateHash: hex(input.stateHash),
    };
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.bodyPath(manifest.lastSeq), body);
    await writeFileAtomic(this.manifestPath(manifest.lastSeq), manifestJson(manifest));
    return manifest;
  }

  /**
   * Stores a snapshot taken elsewhere (a peer's `GET /v1/snapshot`): its manifest and
   * its stored (compressed) body, checked before anything is written — the cluster, the
   * body's size and xxh64 — and then written as save() writes. load() checks the rest.
   */
  async importStored(manifest: SnapshotManifest, body: Uint8Array): Promise<SnapshotManifest> {
    const checked = this.checkManifest(manifest, 'from a peer');
    checkBody(body, checked, 'from a peer');
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.bodyPath(checked.lastSeq), body);
    await writeFileAtomic(this.manifestPath(checked.lastSeq), manifestJson(checked));
    return checked;
  }

  /** Every complete snapshot, oldest first. A damaged manifest is an error, not skipped. */
  async list(): Promise<SnapshotManifest[]> {
    const manifests: SnapshotManifest[] = [];
    for (const name of await this.manifestNames()) {
      const path = join(this.dir, name);
      manifests.push(this.checkManifest(parseManifest(await readFile(path, 'utf8'), path), path));
    }
    return manifests;
  }

  /** Manifest file names, oldest first; none when the directory does not exist. */
  private async manifestNames(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.filter((n) => /^\d{20}\.manifest\.json$/.test(n)).sort();
  }

  private checkManifest(manifest: SnapshotManifest, path: string): SnapshotManifest {
    if (manifest.clusterId !== this.clusterId)
      throw new MalformedError(`snapshot manifest ${path} (cluster ${manifest.clusterId})`);
    return manifest;
  }

  /**
   * Every snapshot, oldest first, without stopping at a damaged manifest: those are
   * listed apart, with the lastSeq their file name gives and why they were refused, so
   * a caller can fall back to an older snapshot and say which one it passed over.
   */
  async scan(): Promise<SnapshotScan> {
    const manifests: SnapshotManifest[] = [];
    const refused: RefusedSnapshot[] = [];
    for (const name of await this.manifestNames()) {
      const path = join(this.dir, name);
      const lastSeq = BigInt(name.slice(0, 20));
      try {
        const manifest = this.checkManifest(parseManifest(await readFile(path, 'utf8'), path), path);
        if (manifest.lastSeq !== lastSeq)
          throw new MalformedError(`snapshot manifest ${path} (lastSeq ${manifest.lastSeq})`);
        manifests.push(manifest);
      } catch (error) {
        if (!(error instanceof OplogError) && (error as NodeJS.ErrnoException).code === undefined)
          throw error;
        refused.push({ lastSeq, path, reason: describeError(error) });
      }
    }
    return { manifests, refused };
  }

  async latest(): Promise<SnapshotManifest | undefined> {
    return (await this.list()).at(-1);
  }

  /** The verified state image of a snapshot. */
  async load(manifest: SnapshotManifest): Promise<Snapshot> {
    const path = this.bodyPath(manifest.lastSeq);
    const body = await readFile(path);
    checkBody(body, manifest, path);
    const image = this.compression.decompress(body, manifest.rawBytes);
    if (image.length !== manifest.rawBytes)
      throw new MalformedError(
        `snapshot body ${path} (inflates to ${image.length} bytes, not ${manifest.rawBytes})`,
      );
    return { manifest, image };
  }

  /** Removes all but the newest `keep` snapshots (and orphan bodies below them). */
  async prune(keep: number): Promise<void> {
    const manifests = await this.list();
    for (const manifest of manifests.slice(0, Math.max(0, manifests.length - keep))) {
      await rm(this.manifestPath(manifest.lastSeq), { force: true });
      await rm(this.bodyPath(manifest.lastSeq), { force: true });
    }
  }

  /** Where the body of the snapshot at `lastSeq` is (or would be). */
  get location(): string {
    return this.dir;
  }

  describe(lastSeq: bigint): string {
    return this.bodyPath(lastSeq);
  }

  bodyPath(lastSeq: bigint): string {
    return join(this.dir, `${pad(lastSeq)}.body`);
  }

  /** Where the manifest of the snapshot at `lastSeq` is (or would be). */
  manifestPath(lastSeq: bigint): string {
    return join(this.dir, `${pad(lastSeq)}.manifest.json`);
  }
}

/** A stored body against its manifest: its size, then its xxh64. */
function checkBody(body: Uint8Array, manifest: SnapshotManifest, where: string): void {
  if (body.length !== manifest.bodyBytes)
    throw new MalformedError(
      `snapshot body ${where} (${body.length} bytes, manifest says ${manifest.bodyBytes})`,
    );
  const found = xxh64(body);
  if (hex(found) !== manifest.bodyChecksum)
    throw new ChecksumMismatchError(
      'snapshot-body',
      manifest.lastSeq,
      BigInt(`0x${manifest.bodyChecksum}`),
      found,
    );
}

/** `<dataDir>/<cluster>/snapshots`: where a cluster's snapshots are (cluster id validated). */
export function snapshotsDir(dataDir: string, clusterId: string): string {
  return join(dataDir, validateClusterId(clusterId), 'snapshots');
}

/**
 * Replaces `stateMachine`'s state with a loaded snapshot and checks the result against
 * the manifest's state hash. A malformed image leaves the state untouched (restore is
 * all or nothing); a restored state with another hash is an IntegrityError (the state
 * machine is then not to be used).
 */
export function restoreSnapshot(stateMachine: StateMachine, snapshot: Snapshot): void {
  stateMachine.restore(snapshot.image);
  const restored = hex(stateMachine.hash());
  if (restored !== snapshot.manifest.stateHash)
    throw new IntegrityError(
      snapshot.manifest.lastSeq,
      `snapshot restored to state hash ${restored}, manifest says ${snapshot.manifest.stateHash}`,
    );
}

function pad(seq: bigint): string {
  return seq.toString().padStart(20, '0');
}

/** An error as one line for a refusal: the code first when it has one. */
export function describeError(error: unknown): string {
  if (error instanceof OplogError) return `${error.code} ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** A state hash or checksum as the manifests write it: 16 hex digits. */
export function hex(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

function manifestJson(manifest: SnapshotManifest): string {
  return `${JSON.stringify({ ...manifest, lastSeq: String(manifest.lastSeq), epoch: String(manifest.epoch) }, null, 2)}\n`;
}

/** Parses and checks every field; anything off is a MalformedError naming the file. */
export function parseManifest(text: string, where: string): SnapshotManifest {
  const bad = (field: string) => new MalformedError(`snapshot manifest ${where} (${field})`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new MalformedError(`snapshot manifest ${where} (not JSON)`, undefined, { cause });
  }
  if (typeof raw !== 'object' || raw === null) throw bad('not an object');
  if (raw['format'] !== 'oplog-snapshot') throw bad('format');
  if (raw['version'] !== 1) throw bad('version');
  const decimal = (field: string) => {
    const v = raw[field];
    if (typeof v !== 'string' || !/^\d{1,20}$/.test(v) || BigInt(v) >= 2n ** 64n) throw bad(field);
    return BigInt(v);
  };
  const count = (field: string, max: number) => {
    const v = raw[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw bad(field);
    return v;
  };
  const hex16 = (field: string) => {
    const v = raw[field];
    if (typeof v !== 'string' || !/^[0-9a-f]{16}$/.test(v)) throw bad(field);
    return v;
  };
  const clusterId = raw['clusterId'];
  if (typeof clusterId !== 'string') throw bad('clusterId');
  const createdAt = raw['createdAt'];
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) throw bad('createdAt');
  return {
    format: 'oplog-snapshot',
    version: 1,
    clusterId,
    lastSeq: toSeq(decimal('lastSeq')),
    epoch: toEpoch(decimal('epoch')),
    lastEntryTs: count('lastEntryTs', Number.MAX_SAFE_INTEGER),
    createdAt,
    items: count('items', Number.MAX_SAFE_INTEGER),
    rawBytes: count('rawBytes', SNAPSHOT_RAW_BYTES_MAX),
    bodyBytes: count('bodyBytes', SNAPSHOT_RAW_BYTES_MAX),
    bodyChecksum: hex16('bodyChecksum'),
    stateHash: hex16('stateHash'),
  };
}
