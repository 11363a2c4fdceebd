/**
 * The state machine a served node applies the log to: the built-in key-value machine,
 * plus what the service needs of every applied entry — the change stream's feed
 * (applied-feed.ts) and the checkpoint digest (checkpoints.ts). Apply order is the
 * log's; this runs inside the standby's apply, so it does no I/O: a checkpoint to
 * append or a mismatch found is handed to the callbacks, which act asynchronously.
 */
import type { Entry } from '../core/types.js';
import { KvStateMachine, type StateImage, type StateMachine } from '../snapshot/state-machine.js';
import type { AppliedFeed } from './applied-feed.js';
import { Checkpoints, KvDigest, type CheckpointMismatch, type CheckpointValue } from './checkpoints.js';

export interface ServedStateHooks {
  /** A checkpoint is due (every node sees it; only a writing one appends it). */
  readonly checkpointDue: (value: CheckpointValue) => void;
  readonly mismatch: (mismatch: CheckpointMismatch) => void;
}

export class ServedState implements StateMachine {
  readonly kv = new KvStateMachine();
  readonly digest = new KvDigest();
  readonly checkpoints: Checkpoints;

  constructor(
    private readonly feed: AppliedFeed,
    checkpointEveryEntries: number,
    private readonly hooks: ServedStateHooks,
  ) {
    this.checkpoints = new Checkpoints(checkpointEveryEntries);
  }

  apply(entry: Entry): void {
    const keyed = entry.type === 'put' || entry.type === 'delete';
    this.kv.apply(entry);
    const after = keyed ? this.kv.get(entry.key) : undefined;
    if (keyed) this.digest.set(entry.key, after);
    // The machine's own copy of a put's value; other entries are copied once here.
    this.feed.push({ ...entry, value: after ?? entry.value.slice() });
    const { append, mismatch } = this.checkpoints.applied(entry, this.digest.value);
    if (append !== undefined) this.hooks.checkpointDue(append);
    if (mismatch !== undefined) this.hooks.mismatch(mismatch);
  }

  hash(): bigint {
    return this.kv.hash();
  }

  snapshot(): StateImage {
    return this.kv.snapshot();
  }

  /** Restores the key-value state; the digest is recomputed (one pass) and old notes dropped. */
  restore(bytes: Uint8Array): void {
    this.kv.restore(bytes);
    this.digest.reset();
    for (const [key, value] of this.kv.entries()) this.digest.set(key, value);
    this.checkpoints.restored();
  }
}
