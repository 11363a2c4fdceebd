/**
 * The standby: subscribe to the source store → verify and decode each record → the
 * applier (ordering, gaps, skips; src/core) → the state machine. Gaps are fetched from
 * the other store when there is one, else from the source. The standby lifecycle table
 * (src/core/standby-state.ts) is driven by the subscription's visibility and by the
 * applier: blind → degraded at once (fail closed); visible again → syncing, re-reading
 * from applied + 1.
 *
 * Snapshots: takeSnapshot() captures the state at applied (synchronously, between two
 * applies) and stores it; installSnapshot() replaces the state with a snapshot and
 * follows the log from its lastSeq + 1. A node mid install is never promoted.
 */
import { Applier, type ApplierConfig, type ApplierOutput } from '../core/applier.js';
import type { Compression } from '../core/compression.js';
import {
  ConfigError,
  CorruptStoreError,
  IntegrityError,
  InvalidStateError,
  OplogError,
  StaleReadError,
} from '../core/errors.js';
import { decodeRecord } from '../core/record-codec.js';
import { transition, type StandbyEvent, type StandbyState } from '../core/standby-state.js';
import { epoch as toEpoch, seq as toSeq, type Entry, type Seq, type SeqRange } from '../core/types.js';
import type { LogStore, Subscription } from '../stores/log-store.js';
import type { StateMachine } from '../snapshot/state-machine.js';
import {
  restoreSnapshot,
  type Snapshot,
  type SnapshotInput,
  type SnapshotManifest,
} from '../snapshot/snapshot-store.js';
import { PrimaryWriter, type PrimaryWriterOptions } from '../primary/primary-writer.js';
import { promotionCheck } from '../core/standby-state.js';
import { PromotionRefusedError } from '../core/errors.js';

export const DEFAULT_APPLIER_CONFIG: ApplierConfig = {
  pendingEntriesMax: 100_000,
  pendingBytesMax: 256 * 1024 * 1024,
  gapRequestDelayMs: 200,
  skipTimeoutMs: 30_000,
  fetchBackoffMs: 200,
  fetchBackoffMaxMs: 5_000,
  skipPolicy: 'halt',
  fetchRangesPerTickMax: 8,
  skippedRangesMax: 1_000,
};

export interface StandbyOptions {
  readonly source: LogStore;
  /** Where gaps and corrupted records are fetched from; default the source. */
  readonly fetchStore?: LogStore;
  readonly stateMachine: StateMachine;
  readonly compression: Compression;
  readonly applier?: Partial<ApplierConfig>;
  readonly tickMs?: number;
  readonly nowMs?: () => number;
  /** Where rate-limited warnings go (at most one per warningIntervalMs). Default: none. */
  readonly warn?: (message: string, cause?: unknown) => void;
  /** Default 10,000 ms. */
  readonly warningIntervalMs?: number;
  /** Reads while degraded: `deny` (default) refuses them, `allow` serves them flagged stale. */
  readonly staleReads?: 'allow' | 'deny';
  /** Called on every lifecycle change, e.g. for logs. */
  readonly onState?: (from: StandbyState, to: StandbyState, event: StandbyEvent) => void;
  /**
   * The stores a promoted writer fences and writes (writer handles: a reader-mode file
   * store cannot append). Default: the source and the fetch store.
   */
  readonly promotionStores?: () => Promise<readonly LogStore[]>;
  /** Writer settings for after a promotion. */
  readonly writer?: Omit<PrimaryWriterOptions, 'stores' | 'compression' | 'beforeStart' | 'afterFence'>;
  /** Delay between attempts while leaderless; doubles up to 10×. Default 200 ms. */
  readonly leaderlessRetryMs?: number;
  /**
   * Called inside each promotion attempt after the fence and reconciliation, before the
   * writer starts; throwing fails that attempt (tests inject failures here).
   */
  readonly onTakeover?: (attempt: number) => Promise<void>;
  /**
   * Snapshots taken by the standby itself: one every `everyEntries` applied entries
   * (taken between two applies, written in the background; a failure is warned about
   * and retried at the next threshold), keeping the newest `keep` (default 2).
   */
  readonly snapshotPolicy?: SnapshotPolicy;
}

export interface SnapshotPolicy {
  readonly sink: SnapshotSink & { prune?(keep: number): Promise<void> };
  readonly everyEntries: number;
  readonly keep?: number;
}

export interface StandbyStatus {
  readonly state: StandbyState;
  readonly appliedSeq: Seq;
  readonly headSeq: Seq;
  readonly lagEntries: bigint;
  /** Age of the newest applied entry while behind (its primary timestamp); 0 when caught up. */
  readonly lagMs: number;
  readonly degraded: boolean;
  readonly divergent: boolean;
  readonly skipped: readonly SeqRange[];
  readonly corruptRecords: number;
  /** Preconditions a forced promotion waived. */
  readonly promotionOverrides: readonly string[];
  readonly promotionAttempts: number;
  readonly lastPromotionError: string | undefined;
  /** The writer's epoch once this node is primary. */
  readonly epoch: bigint | undefined;
  /** lastSeq of the newest snapshot this node took or installed (0: none). */
  readonly snapshotSeq: bigint;
}

/** Where takeSnapshot() puts a snapshot (FileSnapshotStore, or anything with save). */
export interface SnapshotSink {
  save(input: SnapshotInput): Promise<SnapshotManifest>;
}

export class Standby {
  private applier: Applier;
  private stateValue: StandbyState = 'starting';
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private corruptRecords = 0;
  private lastAppliedTsMs = 0;
  private lastWarningAtMs = -Infinity;
  private writer: PrimaryWriter | undefined;
  private promotionOverrides: readonly string[] = [];
  private promotionAttempts = 0;
  private lastPromotionError: string | undefined;
  private promoting = false;
  /** Set while background loops must not run (promotion, stop). */
  private suspended = false;
  private readonly nowMs: () => number;
  private readonly appliedWaiters = new Set<() => void>();
  private snapshotSeq = 0n;
  /** applied seq when the policy last tried: the next try is `everyEntries` later, success or not. */
  private snapshotTriedSeq = 0n;
  private snapshotRunning = false;

  constructor(private readonly options: StandbyOptions) {
    this.applier = new Applier(
      { ...DEFAULT_APPLIER_CONFIG, ...options.applier },
      { appliedSeq: toSeq(0n), appliedEpoch: toEpoch(0n) },
    );
    this.nowMs = options.nowMs ?? Date.now;
    const every = options.snapshotPolicy?.everyEntries;
    if (every !== undefined && (!Number.isSafeInteger(every) || every < 1))
      throw new ConfigError('snapshotPolicy.everyEntries', every, 'must be a positive integer');
    const keep = options.snapshotPolicy?.keep;
    if (keep !== undefined && (!Number.isSafeInteger(keep) || keep < 1))
      throw new ConfigError('snapshotPolicy.keep', keep, 'must be a positive integer');
  }

  get status(): StandbyStatus {
    const applied = this.applier.appliedSeq;
    const head = this.applier.knownHeadSeq;
    return {
      state: this.stateValue,
      appliedSeq: applied,
      headSeq: head,
      lagEntries: head - applied,
      lagMs: head > applied ? Math.max(0, this.nowMs() - this.lastAppliedTsMs) : 0,
      degraded: this.stateValue === 'degraded',
      divergent: this.applier.divergent,
      skipped: this.applier.skippedRanges,
      corruptRecords: this.corruptRecords,
      promotionOverrides: this.promotionOverrides,
      promotionAttempts: this.promotionAttempts,
      lastPromotionError: this.lastPromotionError,
      epoch: this.writer?.epoch,
      snapshotSeq: this.snapshotSeq,
    };
  }

  start(): void {
    if (this.stateValue !== 'starting') return;
    this.fire('started');
    this.resumeFollowing();
  }

  /**
   * Stores the state as of the last applied seq. The image and its hash are taken
   * synchronously (no apply runs in between), so following never stops; only the
   * compression and the writes are asynchronous. Refused while divergent (the state
   * has skipped entries: a snapshot would spread the hole) or without an applied seq.
   */
  async takeSnapshot(sink: SnapshotSink): Promise<SnapshotManifest> {
    if (this.applier.divergent) throw new InvalidStateError('snapshot', 'divergent');
    if (this.stateValue === 'installing_snapshot') throw new InvalidStateError('snapshot', this.stateValue);
    const lastSeq = this.applier.appliedSeq;
    if (lastSeq === 0n) throw new InvalidStateError('snapshot', 'empty (nothing applied)');
    const input: SnapshotInput = {
      lastSeq,
      epoch: this.applier.appliedEpoch,
      lastEntryTs: this.lastAppliedTsMs,
      image: this.options.stateMachine.snapshot(),
      stateHash: this.options.stateMachine.hash(),
    };
    const manifest = await sink.save(input);
    if (manifest.lastSeq > this.snapshotSeq) this.snapshotSeq = manifest.lastSeq;
    return manifest;
  }

  /**
   * Replaces the state with a snapshot, then follows the log from its lastSeq + 1
   * (a fresh node, one behind the log's retention, or a divergent one replacing its
   * state with a healthy node's). Accepted before start() and while following, not
   * while degraded (it cannot see the log to replay) nor as or after a promotion. The
   * background loops stay suspended for the whole install, the node refuses promotion
   * (even forced) and reads are stale. `load` may be slow (a download).
   *
   * If loading fails (damaged bytes, unavailable) nothing changed: the node resumes
   * following from where it was and the error is thrown. A restored state whose hash
   * differs from the manifest's is an IntegrityError and the node fails closed.
   */
  async installSnapshot(load: () => Promise<Snapshot>): Promise<SnapshotManifest> {
    const wasRunning = this.stateValue !== 'starting';
    if (!transition(this.stateValue, 'snapshot_install_began').ok)
      throw new InvalidStateError('snapshot install', this.stateValue);
    // The state changes before the first await: a promote() that starts from here on
    // is refused, and one already past its checks has left a state that refused us.
    this.fire('snapshot_install_began');
    await this.suspend();
    let snapshot: Snapshot;
    try {
      snapshot = await load();
      // stop() may have run while loading: a stopped node stays stopped (the resume
      // below is then refused by the lifecycle table).
      if (this.stateValue !== 'installing_snapshot')
        throw new InvalidStateError('snapshot install', this.stateValue);
      restoreSnapshot(this.options.stateMachine, snapshot);
    } catch (error) {
      // A restored state with the wrong hash cannot be used: fail closed. Anything
      // else (unreadable, damaged, malformed) changed nothing: resume following.
      if (error instanceof IntegrityError) {
        this.fire('fatal');
        throw error;
      }
      this.fire('snapshot_failed');
      if (wasRunning) this.start();
      throw error;
    }
    const { manifest } = snapshot;
    this.applier = new Applier(
      { ...DEFAULT_APPLIER_CONFIG, ...this.options.applier },
      { appliedSeq: manifest.lastSeq, appliedEpoch: manifest.epoch },
    );
    this.lastAppliedTsMs = manifest.lastEntryTs;
    this.snapshotSeq = manifest.lastSeq;
    this.fire('snapshot_installed');
    this.resumeFollowing();
    for (const waiter of [...this.appliedWaiters]) waiter();
    return manifest;
  }

  /**
   * Reads the state machine. While the standby is degraded (its source is not
   * visible), not yet connected, or installing a snapshot, the state may be stale:
   * `staleReads: 'deny'` refuses with StaleReadError; `allow` answers with `stale: true`.
   */
  read<T>(query: (stateMachine: StateMachine) => T): { value: T; stale: boolean } {
    const stale =
      this.stateValue === 'degraded' ||
      this.stateValue === 'connecting' ||
      this.stateValue === 'starting' ||
      this.stateValue === 'installing_snapshot';
    if (stale && (this.options.staleReads ?? 'deny') === 'deny') throw new StaleReadError(this.stateValue);
    return { value: query(this.options.stateMachine), stale };
  }

  /** The writer, once this node has been promoted. */
  get primary(): PrimaryWriter | undefined {
    return this.writer;
  }

  /**
   * Promotes this standby (DESIGN.md "Promotion"): refuses with every failed
   * precondition named unless `force` waives it (never a snapshot install); suspends
   * the subscription and timers for the whole promotion; fences every store at a new
   * epoch, reconciles them, drains the log to the head into the state machine, and
   * starts a writer at head + 1. A failure before the fence resumes following; a
   * failure after it leaves `leaderless`, retried with backoff until a writer exists.
   */
  async promote({ force = false }: { force?: boolean } = {}): Promise<PrimaryWriter> {
    if (this.promoting) throw new PromotionRefusedError(['promotion_in_progress']);
    const headSeq = await this.committedHead().catch(() => undefined);
    const check = promotionCheck(
      {
        state: this.stateValue,
        divergent: this.applier.divergent,
        appliedSeq: this.applier.appliedSeq,
        headSeq: headSeq ?? this.applier.knownHeadSeq,
      },
      force,
    );
    const blockers = headSeq === undefined && !force ? [...check.blockers, 'head_unknown'] : check.blockers;
    if (blockers.length > 0) throw new PromotionRefusedError(blockers);
    this.promotionOverrides = check.overridden;
    this.promoting = true;
    this.fire('promote');
    await this.suspend();
    const stores = await (this.options.promotionStores?.() ?? Promise.resolve(this.defaultStores()));
    let fenced = false;
    let delayMs = this.options.leaderlessRetryMs ?? 200;
    for (;;) {
      const attempt = this.promotionAttempts++;
      try {
        const writer = await PrimaryWriter.start({
          ...this.options.writer,
          stores,
          compression: this.options.compression,
          afterFence: () => (fenced = true),
          beforeStart: async (_epoch, head) => {
            await this.drainTo(stores[0]!, head);
            await this.options.onTakeover?.(attempt);
          },
        });
        this.writer = writer;
        this.promoting = false;
        this.fire('promoted');
        // The primary keeps its own state machine current by following its own log.
        this.resumeFollowing();
        return writer;
      } catch (error) {
        this.lastPromotionError = error instanceof Error ? error.message : String(error);
        if (!fenced) {
          this.promoting = false;
          this.fire('promotion_aborted');
          this.resumeFollowing();
          throw error;
        }
        this.fire('promotion_failed_after_fence');
        await new Promise((r) => setTimeout(r, delayMs));
        delayMs = Math.min(delayMs * 2, (this.options.leaderlessRetryMs ?? 200) * 10);
        this.fire('promote');
      }
    }
  }

  private defaultStores(): LogStore[] {
    const fetch = this.options.fetchStore;
    return fetch === undefined || fetch === this.options.source
      ? [this.options.source]
      : [this.options.source, fetch];
  }

  /**
   * The committed head: the lowest over the stores this standby reads. A record only
   * some stores hold was never acknowledged; promotion's reconciliation settles it.
   */
  private async committedHead(): Promise<bigint> {
    const heads = await Promise.all(this.defaultStores().map((s) => s.head()));
    return heads.reduce((min, h) => (h.lastSeq < min ? h.lastSeq : min), heads[0]?.lastSeq ?? 0n);
  }

  /** Applies everything up to `headSeq` from `store` (after the fence nothing new arrives). */
  private async drainTo(store: LogStore, headSeq: bigint): Promise<void> {
    if (this.applier.appliedSeq >= headSeq) return;
    for await (const record of store.read(toSeq(this.applier.appliedSeq + 1n))) {
      this.carry(this.applier.receive(this.decode(record.bytes), this.nowMs()));
      if (this.applier.appliedSeq >= headSeq) return;
    }
    if (this.applier.appliedSeq < headSeq)
      throw new Error(`drained to seq ${this.applier.appliedSeq}, head is ${headSeq}`);
  }

  private resumeFollowing(): void {
    this.suspended = false;
    this.running = this.followLoop().catch(() => undefined);
    clearInterval(this.timer);
    this.timer = setInterval(() => this.carry(this.applier.tick(this.nowMs())), this.options.tickMs ?? 50);
  }

  /** Stops every background loop and waits until the follow loop has ended. */
  private async suspend(): Promise<void> {
    this.suspended = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.subscription?.close();
    this.subscription = undefined;
    await this.running;
  }

  /** Resolves once `seq` is applied (or rejects if the standby stops first). */
  waitForApplied(seq: bigint): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.applier.appliedSeq >= seq) {
          this.appliedWaiters.delete(check);
          resolve();
        } else if (this.stateValue === 'stopped' || this.stateValue === 'failed') {
          this.appliedWaiters.delete(check);
          reject(new Error(`standby ${this.stateValue} before seq ${seq}`));
        }
      };
      this.appliedWaiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    await this.suspend();
    await this.writer?.close();
    this.fire('stop');
    for (const waiter of [...this.appliedWaiters]) waiter();
  }

  /**
   * Follows the source; when the source serves a corrupted record (CorruptStoreError),
   * fetches that seq from the other store and subscribes again from applied + 1. With
   * no good copy anywhere, the seqs stay a gap: fetched again, then skipped or halted on
   * per the skip policy, after which the subscription resumes past them.
   */
  private async followLoop(): Promise<void> {
    let delayMs = 50;
    while (!this.suspended) {
      const subscription = this.options.source.subscribe(toSeq(this.applier.appliedSeq + 1n));
      this.subscription = subscription;
      try {
        await this.follow(subscription);
        return;
      } catch (error) {
        if (!(error instanceof CorruptStoreError) || this.suspended) throw error;
        this.corruptRecords++;
        const head = await this.options.source.head().catch(() => undefined);
        if (head !== undefined) this.carry(this.applier.observeHead(head.lastSeq, this.nowMs()));
        const next = toSeq(this.applier.appliedSeq + 1n);
        await this.fetch({
          fromSeq: next,
          toSeq: this.applier.knownHeadSeq > next ? this.applier.knownHeadSeq : next,
        });
        await new Promise((r) => setTimeout(r, delayMs));
        delayMs = Math.min(delayMs * 2, 2_000);
      }
    }
  }

  private async follow(subscription: Subscription): Promise<void> {
    try {
      for await (const event of subscription) {
        if (event.type === 'visibility') {
          this.fire(event.visibility === 'visible' ? 'connected' : 'source_lost');
          if (event.visibility === 'blind')
            this.maybeWarn(`source ${this.options.source.kind} is not visible: degraded`, event.cause);
          continue;
        }
        const now = this.nowMs();
        this.carry(this.applier.observeHead(event.record.lastSeq, now));
        this.carry(this.applier.receive(this.decode(event.record.bytes), now));
      }
    } catch (error) {
      if (error instanceof OplogError && !(error instanceof CorruptStoreError)) this.fire('fatal');
      throw error;
    }
  }

  /** A record that fails verification is dropped: its entries become a gap, fetched again. */
  private decode(bytes: Uint8Array): Entry[] {
    try {
      return decodeRecord(bytes, this.options.compression).entries;
    } catch {
      this.corruptRecords++;
      return [];
    }
  }

  private carry(out: ApplierOutput): void {
    for (const entry of out.apply) this.options.stateMachine.apply(entry);
    const lastApplied = out.apply.at(-1);
    if (lastApplied !== undefined) this.lastAppliedTsMs = lastApplied.ts;
    for (const range of out.fetch) void this.fetch(range);
    // The applier's halt policy holds a gap: the lifecycle says so, and says when it clears.
    if (this.applier.halted && (this.stateValue === 'syncing' || this.stateValue === 'watching'))
      this.fire('gap_halted');
    else if (!this.applier.halted && this.stateValue === 'halted') this.fire('gap_filled');
    if (out.apply.length > 0) {
      for (const waiter of [...this.appliedWaiters]) waiter();
      const caughtUp = this.applier.appliedSeq >= this.applier.knownHeadSeq;
      if (caughtUp && this.stateValue === 'syncing') this.fire('caught_up');
      if (!caughtUp && this.stateValue === 'watching') this.fire('fell_behind');
      this.maybeSnapshot();
    }
  }

  /** The snapshot policy: due every `everyEntries`, one at a time, never while divergent. */
  private maybeSnapshot(): void {
    const policy = this.options.snapshotPolicy;
    if (policy === undefined || this.snapshotRunning || this.applier.divergent) return;
    const since = this.snapshotTriedSeq > this.snapshotSeq ? this.snapshotTriedSeq : this.snapshotSeq;
    if (this.applier.appliedSeq - since < BigInt(policy.everyEntries)) return;
    if (!['syncing', 'watching', 'primary'].includes(this.stateValue)) return;
    this.snapshotRunning = true;
    this.snapshotTriedSeq = this.applier.appliedSeq;
    this.takeSnapshot(policy.sink)
      .then(() => policy.sink.prune?.(policy.keep ?? 2))
      .catch((error: unknown) => this.maybeWarn('snapshot failed', error))
      .finally(() => (this.snapshotRunning = false));
  }

  /**
   * Reads `range` from the fetch store (else the source) into the applier. When the
   * record covering a seq is damaged in that store, probes further seqs (+1, +2, +4, …)
   * for the next readable record, so one bad record costs only its own seqs.
   */
  private async fetch(range: SeqRange): Promise<void> {
    const store = this.options.fetchStore ?? this.options.source;
    const lastSeq = range.toSeq > this.applier.knownHeadSeq ? range.toSeq : this.applier.knownHeadSeq;
    let from: bigint = range.fromSeq;
    for (let step = 1n; from <= lastSeq; step *= 2n) {
      try {
        for await (const record of store.read(toSeq(from))) {
          if (record.firstSeq > range.toSeq) break;
          this.carry(this.applier.receive(this.decode(record.bytes), this.nowMs()));
        }
        return;
      } catch (error) {
        // Unavailable: the applier asks again after its backoff.
        if (!(error instanceof CorruptStoreError)) return;
        from = range.fromSeq + step;
      }
    }
  }

  private maybeWarn(message: string, cause?: unknown): void {
    const now = this.nowMs();
    if (now - this.lastWarningAtMs < (this.options.warningIntervalMs ?? 10_000)) return;
    this.lastWarningAtMs = now;
    this.options.warn?.(message, cause);
  }

  private fire(event: StandbyEvent): void {
    const result = transition(this.stateValue, event);
    if (!result.ok) return;
    const from = this.stateValue;
    this.stateValue = result.to;
    if (from !== result.to) this.options.onState?.(from, result.to, event);
  }
}
