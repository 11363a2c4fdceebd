/**
 * The standby shell: subscribe to the source store → verify and decode each record →
 * the standby core (src/core/standby-core.ts: the applier — ordering, gaps, skips — and
 * the lifecycle table behind one pure interface) → carry out what it returns: apply to
 * the state machine, fetch gaps (from the other store when there is one, else from the
 * source), report skips, publish lifecycle changes. The core derives the lifecycle
 * events that follow from the applier (halted, filled, caught up, behind); this shell
 * fires the ones it observes: blind → degraded at once (fail closed); visible again →
 * syncing, re-reading from applied + 1; and the API calls.
 *
 * Every background loop's failure reaches the lifecycle and the `loop-failed` event:
 * an error the source may recover from degrades the node and the follow loop
 * resubscribes with jittered backoff; a broken state machine, an invariant or a
 * non-retryable store error fails it closed. Skips, rejected transitions and fences
 * are events too (standby-events.ts), and warnings (warnings.ts).
 *
 * Snapshots: takeSnapshot() captures the state at applied (synchronously, between two
 * applies) and stores it; installSnapshot() replaces the state with a snapshot and
 * follows the log from its lastSeq + 1. A node mid install is never promoted. The
 * policy's schedule is in snapshot-policy.ts, the promotion's attempts in promotion.ts.
 *
 * Over 350 lines (about 800, mostly contracts in comments) because it is the one place
 * the standby's loops meet: the follow loop, fetches, install, promotion and stop share
 * the suspend/resume discipline, and splitting them would scatter that. What has its
 * own seam lives beside it: the pure core (src/core/standby-core.ts), options
 * (standby-options.ts), promotion attempts and their epoch (promotion.ts,
 * epoch-claim.ts), the writer port, the snapshot schedule, events, warnings and metrics
 * (standby-metrics.ts: this file only calls it, one line where each fact happens). Next
 * seam, if it grows: the promotion preconditions and takeover (promote() to onFenced)
 * into promotion.ts.
 */
import {
  ClosedError,
  ConfigError,
  CorruptStoreError,
  FencedError,
  IntegrityError,
  InvalidStateError,
  InvariantViolation,
  OplogError,
  PromotionRefusedError,
  StaleReadError,
  StoreUnavailableError,
} from '../core/errors.js';
import { decodeVerifiedRecord, type VerifiedRecord } from '../core/record-codec.js';
import {
  StandbyCore,
  type LifecycleChange,
  type StandbyDelivery,
  type StandbyOutput,
} from '../core/standby-core.js';
import { readsAreFresh, transition, type StandbyEvent, type StandbyState } from '../core/standby-state.js';
import { NO_METRICS } from '../core/telemetry.js';
import { epoch as toEpoch, seq as toSeq, type Entry, type Seq, type SeqRange } from '../core/types.js';
import { DEFAULT_WARNING_INTERVAL_MS } from '../core/warning-folder.js';
import type { LogStore, Subscription } from '../stores/log-store.js';
import { abortableSleep } from '../stores/tail-subscription.js';
import type { StateMachine } from '../snapshot/state-machine.js';
import {
  restoreSnapshot,
  type Snapshot,
  type SnapshotInput,
  type SnapshotManifest,
} from '../snapshot/snapshot-store.js';
import { Promotion, type PromotionHost } from './promotion.js';
import { SnapshotSchedule, type SnapshotHost, type SnapshotSink } from './snapshot-policy.js';
import { StandbyEventHub, type StandbyEvents, type StandbyLoop } from './standby-events.js';
import { StandbyMetrics } from './standby-metrics.js';
import { RateLimitedWarnings } from './warnings.js';
import type { PromotedWriter, WriterFactory } from './writer-port.js';

import {
  DEFAULT_APPLIER_CONFIG,
  DEFAULT_TICK_MS,
  type StandbyOptions,
  type StandbyStatus,
} from './standby-options.js';

export { DEFAULT_APPLIER_CONFIG, type StandbyOptions, type StandbyStatus } from './standby-options.js';
export type { SnapshotPolicy, SnapshotSink } from './snapshot-policy.js';
export type { PromotedWriter, WriterFactory, WriterStartOptions } from './writer-port.js';
export type {
  StandbyEventMap,
  StandbyEventName,
  StandbyEvents,
  StandbyListener,
  StandbyLoop,
} from './standby-events.js';

export class Standby<W extends PromotedWriter = PromotedWriter> {
  /** The applier and the lifecycle (src/core/standby-core.ts): this shell carries out its output. */
  private readonly core: StandbyCore;
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Aborted by suspend(): wakes the follow loop out of its backoff. */
  private loopAbort = new AbortController();
  private corruptRecords = 0;
  private lastAppliedTsMs = 0;
  private lastError: string | undefined;
  private writer: W | undefined;
  private promotionOverrides: readonly string[] = [];
  private promotionAttempts = 0;
  private lastPromotionError: string | undefined;
  private promoting = false;
  private promotion: Promotion<W> | undefined;
  private promotionTask: Promise<W> | undefined;
  /** Set by stop(): nothing may resume or start from here on. */
  private stopping = false;
  /** Set while background loops must not run (promotion, stop). */
  private suspended = false;
  private readonly nowMs: () => number;
  private readonly appliedWaiters = new Set<() => void>();
  private snapshotSeq = 0n;
  private readonly schedule: SnapshotSchedule | undefined;
  private readonly hub: StandbyEventHub;
  private readonly warnings: RateLimitedWarnings;
  private readonly metrics: StandbyMetrics;

  constructor(private readonly options: StandbyOptions<W>) {
    this.core = new StandbyCore(
      { ...DEFAULT_APPLIER_CONFIG, ...options.applier },
      { appliedSeq: toSeq(0n), appliedEpoch: toEpoch(0n) },
    );
    this.nowMs = options.nowMs ?? Date.now;
    this.warnings = new RateLimitedWarnings(
      { warn: options.warn, logger: options.logger },
      options.warningIntervalMs ?? DEFAULT_WARNING_INTERVAL_MS,
      this.nowMs,
    );
    this.hub = new StandbyEventHub((name, error) =>
      this.warnings.maybeWarn('listener', `a ${name} listener threw`, error),
    );
    const policy = options.snapshotPolicy;
    const every = policy?.everyEntries;
    if (every !== undefined && (!Number.isSafeInteger(every) || every < 1))
      throw new ConfigError('snapshotPolicy.everyEntries', every, 'must be a positive integer');
    const keep = policy?.keep;
    if (keep !== undefined && (!Number.isSafeInteger(keep) || keep < 1))
      throw new ConfigError('snapshotPolicy.keep', keep, 'must be a positive integer');
    this.schedule = policy === undefined ? undefined : new SnapshotSchedule(policy, this.snapshotHost());
    const storeKinds = this.defaultStores().map((store) => store.kind);
    this.metrics = new StandbyMetrics(options.metrics ?? NO_METRICS, {
      core: this.core,
      status: () => this.status,
      storeKinds,
    });
  }

  get status(): StandbyStatus {
    const applied = this.core.appliedSeq;
    const head = this.core.knownHeadSeq;
    return {
      state: this.stateValue,
      appliedSeq: applied,
      headSeq: head,
      lagEntries: head - applied,
      lagMs: head > applied ? Math.max(0, this.nowMs() - this.lastAppliedTsMs) : 0,
      degraded: this.stateValue === 'degraded',
      divergent: this.core.divergent,
      skipped: this.core.skippedRanges,
      skippedEntries: this.core.counters.skippedEntries,
      corruptRecords: this.corruptRecords,
      promotionOverrides: this.promotionOverrides,
      promotionAttempts: this.promotionAttempts,
      lastPromotionError: this.lastPromotionError,
      lastError: this.lastError,
      epoch: this.writer?.epoch,
      snapshotSeq: this.snapshotSeq,
    };
  }

  /** The last applied seq, without building the whole status (read on every HTTP answer). */
  get appliedSeq(): Seq {
    return this.core.appliedSeq;
  }

  /** The typed events (standby-events.ts): state changes, skips, loop failures, fences. */
  get events(): StandbyEvents {
    return this.hub;
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
    if (this.core.divergent) throw new InvalidStateError('snapshot', 'divergent');
    if (this.stateValue === 'installing_snapshot') throw new InvalidStateError('snapshot', this.stateValue);
    const lastSeq = this.core.appliedSeq;
    if (lastSeq === 0n) throw new InvalidStateError('snapshot', 'empty (nothing applied)');
    const startedMs = this.nowMs();
    const input: SnapshotInput = {
      lastSeq,
      epoch: this.core.appliedEpoch,
      lastEntryTs: this.lastAppliedTsMs,
      image: this.options.stateMachine.snapshot(),
      stateHash: this.options.stateMachine.hash(),
    };
    const manifest = await sink.save(input);
    if (manifest.lastSeq > this.snapshotSeq) this.snapshotSeq = manifest.lastSeq;
    this.metrics.snapshotTaken(manifest, (this.nowMs() - startedMs) / 1000);
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
      // stop() may have run while loading: a stopped node stays stopped.
      if (this.stateValue !== 'installing_snapshot')
        throw new InvalidStateError('snapshot install', this.stateValue);
      restoreSnapshot(this.options.stateMachine, snapshot);
    } catch (error) {
      // A restored state with the wrong hash cannot be used: fail closed. Anything
      // else (unreadable, damaged, malformed) changed nothing: resume following.
      if (error instanceof IntegrityError) {
        this.fail('apply', error);
        throw error;
      }
      if (this.stateValue !== 'installing_snapshot') throw error;
      this.fire('snapshot_failed');
      if (wasRunning) this.start();
      throw error;
    }
    const { manifest } = snapshot;
    const installed = this.core.snapshotInstalled({
      appliedSeq: manifest.lastSeq,
      appliedEpoch: manifest.epoch,
    });
    this.lastAppliedTsMs = manifest.lastEntryTs;
    this.snapshotSeq = manifest.lastSeq;
    this.publish(installed);
    this.resumeFollowing();
    this.wakeWaiters();
    return manifest;
  }

  /**
   * Reads the state machine. Unless the node follows a visible source or writes
   * (readsAreFresh: syncing, watching, primary) the state may be stale — not yet
   * connected, degraded, halted on a gap, installing, promoting, leaderless, failed or
   * stopped: `staleReads: 'deny'` refuses with StaleReadError; `allow` answers with
   * `stale: true`.
   */
  read<T>(query: (stateMachine: StateMachine) => T): { value: T; stale: boolean } {
    const stale = !readsAreFresh(this.stateValue);
    if (stale && (this.options.staleReads ?? 'deny') === 'deny') throw new StaleReadError(this.stateValue);
    return { value: query(this.options.stateMachine), stale };
  }

  /**
   * The state is known wrong (a checkpoint's digest differs): the node is divergent —
   * refused promotion unless forced, and reported — until a snapshot install replaces
   * the state. Following goes on, so the node still shows how far the log went.
   */
  markDivergent(reason: string): void {
    this.core.markDivergent();
    this.lastError = reason;
    this.warnings.maybeWarn('divergent', `divergent: ${reason}`);
  }

  /** The writer, once this node has been promoted. */
  get primary(): W | undefined {
    return this.writer;
  }

  /**
   * Promotes this standby (DESIGN.md "Promotion"): refuses with every failed
   * precondition named unless `force` waives it (never a snapshot install); suspends
   * the subscription and timers for the whole promotion; fences every store at a new
   * epoch, reconciles them, drains the log to the head into the state machine, and
   * starts a writer at head + 1. A failure before the fence (promotionStores() throwing
   * included) resumes following; a failure after it leaves `leaderless`, retried with
   * backoff at the same epoch until a writer exists or stop() (promotion.ts). A newer
   * epoch seen meanwhile fences this node (FencedError, state `stopped`). Without a
   * `startWriter` factory it is refused (`no_writer_factory`), even forced.
   */
  async promote({ force = false }: { force?: boolean } = {}): Promise<W> {
    const startWriter = this.options.startWriter;
    if (startWriter === undefined) throw new PromotionRefusedError(['no_writer_factory']);
    if (this.promoting) throw new PromotionRefusedError(['promotion_in_progress']);
    const headSeq = await this.committedHead().catch(() => undefined);
    const check = this.core.promotionCheck(headSeq ?? this.core.knownHeadSeq, force);
    const blockers = headSeq === undefined && !force ? [...check.blockers, 'head_unknown'] : check.blockers;
    if (blockers.length > 0) throw new PromotionRefusedError(blockers);
    this.promotionOverrides = check.overridden;
    this.promoting = true;
    try {
      return await this.runPromotion(startWriter);
    } finally {
      this.promoting = false;
      this.promotion = undefined;
    }
  }

  private async runPromotion(startWriter: WriterFactory<W>): Promise<W> {
    this.fire('promote');
    await this.suspend();
    let stores: readonly LogStore[];
    try {
      this.throwIfStopping();
      stores = await (this.options.promotionStores?.() ?? Promise.resolve(this.defaultStores()));
      this.throwIfStopping();
    } catch (error) {
      // Nothing is fenced yet: nothing changed, follow again.
      if (this.stopping) throw error;
      this.lastPromotionError = message(error);
      this.fire('promotion_aborted');
      this.resumeFollowing();
      throw error;
    }
    const promotion = new Promotion(this.promotionHost(), {
      stores,
      compression: this.options.compression,
      startWriter,
      retryMs: this.options.leaderlessRetryMs ?? 200,
    });
    this.promotion = promotion;
    this.promotionTask = promotion.run();
    let writer: W;
    try {
      writer = await this.promotionTask;
    } catch (error) {
      if (this.stateValue === 'syncing' && !this.stopping) this.resumeFollowing();
      throw error;
    }
    this.writer = writer;
    // The primary applies what its writer acknowledges (acknowledged() below), so it
    // does not read its own log back; only the timers run again.
    if (!this.stopping && this.stateValue === 'primary') this.resumeTicking();
    return writer;
  }

  private throwIfStopping(): void {
    if (this.stopping) throw new ClosedError('standby (stopped during promotion)');
  }

  private promotionHost(): PromotionHost {
    return {
      fire: (event) => this.fire(event),
      beginAttempt: () => this.promotionAttempts++,
      attemptFailed: (error) => (this.lastPromotionError = message(error)),
      takeover: async (attempt, store, headSeq) => {
        await this.drainTo(store, headSeq);
        await this.options.onTakeover?.(attempt);
      },
      writerStopped: (error) => this.onWriterStopped(error),
      acknowledged: (entries) => this.applyAcknowledged(entries),
      claimFenced: (error) => this.onFenced(error),
    };
  }

  /** The writer stopped for good: a fence ends the primary role, anything else fails it. */
  private onWriterStopped(error: OplogError): void {
    if (this.stopping || this.stateValue === 'stopped') return;
    if (error instanceof FencedError) this.onFenced(error);
    else if (error instanceof ClosedError)
      void this.stop(); // its handle was closed: the role is over
    else this.fail('writer', error);
  }

  private onFenced(error: FencedError): void {
    this.lastError = error.message;
    this.warnings.maybeWarn('fenced', `standby: fenced by a newer epoch (${error.message}); stopping`, error);
    this.hub.emit('fenced', { epoch: error.epoch, error });
    this.metrics.fenced();
    this.fire('fenced');
    this.haltLoops();
    this.wakeWaiters();
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
    if (this.core.appliedSeq >= headSeq) return;
    for await (const record of store.read(toSeq(this.core.appliedSeq + 1n))) {
      this.carry(this.core.receive(this.decode(record, store), this.nowMs()));
      if (this.stateValue === 'failed') throw new InvalidStateError('promotion', 'failed');
      if (this.core.appliedSeq >= headSeq) return;
    }
    if (this.core.appliedSeq < headSeq)
      throw new Error(`drained to seq ${this.core.appliedSeq}, head is ${headSeq}`);
  }

  private resumeFollowing(): void {
    if (this.stopping) return;
    this.resumeTicking();
    this.running = this.followLoop().catch((error: unknown) => this.fail('follow', error));
  }

  private resumeTicking(): void {
    this.suspended = false;
    this.loopAbort = new AbortController();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.onTick(), this.options.tickMs ?? DEFAULT_TICK_MS);
  }

  /**
   * What this node's writer acknowledged, in seq order: applied as a delivery from the
   * log would be (the records are in every store), with the head at its last seq.
   */
  private applyAcknowledged(entries: readonly Entry[]): void {
    const last = entries.at(-1);
    if (last === undefined) return;
    try {
      this.carry(this.core.receive({ kind: 'record', entries, headSeq: last.seq }, this.nowMs()));
    } catch (error) {
      this.fail('apply', error);
    }
  }

  private onTick(): void {
    this.warnings.flushExpired();
    try {
      this.carry(this.core.tick(this.nowMs()));
    } catch (error) {
      this.fail('tick', error);
    }
  }

  /** Stops every background loop at once (without waiting for the follow loop to end). */
  private haltLoops(): void {
    this.suspended = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.loopAbort.abort();
    this.subscription?.close();
    this.subscription = undefined;
  }

  /** Stops every background loop and waits until the follow loop has ended. */
  private async suspend(): Promise<void> {
    this.haltLoops();
    await this.running;
  }

  /**
   * Resolves once `seq` is applied; rejects if the standby stops or fails first, or
   * when `signal` aborts (its waiter is then dropped at once: a caller that gives up
   * leaves nothing behind).
   */
  waitForApplied(seq: bigint, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.appliedWaiters.delete(check);
        signal?.removeEventListener('abort', aborted);
      };
      const check = () => {
        if (this.core.appliedSeq >= seq) {
          done();
          resolve();
        } else if (this.stateValue === 'stopped' || this.stateValue === 'failed') {
          done();
          reject(new Error(`standby ${this.stateValue} before seq ${seq}`));
        }
      };
      const aborted = () => {
        done();
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', aborted, { once: true });
      this.appliedWaiters.add(check);
      check();
    });
  }

  /**
   * Stops everything: the follow loop, the timers, a promotion in flight (also one
   * waiting out a leaderless backoff: no attempt starts after this), and the writer.
   * Resolves once no loop runs; idempotent.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.promotion?.stop();
    await this.suspend();
    await this.promotionTask?.catch(() => undefined);
    await this.writer?.close();
    if (this.stateValue !== 'stopped') this.fire('stop');
    this.warnings.flush();
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    for (const waiter of [...this.appliedWaiters]) waiter();
  }

  /**
   * Follows the source; when the source serves a corrupted record (CorruptStoreError),
   * fetches that seq from the other store and subscribes again from applied + 1. With
   * no good copy anywhere, the seqs stay a gap: fetched again, then skipped or halted on
   * per the skip policy, after which the subscription resumes past them.
   *
   * Any other failure reaches the lifecycle: one the source may recover from (a
   * retryable store error, an unexpected exception, a subscription that ended by
   * itself) degrades the node and resubscribes from applied + 1 with jittered
   * exponential backoff, forever; a non-retryable store error (truncated, closed) or a
   * broken invariant fails it closed.
   */
  private async followLoop(): Promise<void> {
    let delayMs = 50;
    while (!this.suspended) {
      try {
        const subscription = this.options.source.subscribe(toSeq(this.core.appliedSeq + 1n));
        this.subscription = subscription;
        await this.follow(subscription);
        if (this.suspended) return;
        throw new StoreUnavailableError(`${this.options.source.kind} subscription`, {
          fromSeq: this.core.appliedSeq + 1n,
        });
      } catch (error) {
        if (this.suspended) return;
        if (error instanceof CorruptStoreError) {
          await this.repairCorrupt(error);
        } else if (isFatal(error)) {
          this.fail('follow', error);
          return;
        } else {
          this.degrade(error);
        }
        await abortableSleep(delayMs * (0.5 + Math.random() / 2), this.loopAbort.signal);
        delayMs = Math.min(delayMs * 2, 2_000);
        if (!this.suspended) this.metrics.resubscribed(this.options.source.kind);
      }
    }
  }

  /** The source served a damaged record: fetch from applied + 1 (the other store, if any). */
  private async repairCorrupt(error: CorruptStoreError): Promise<void> {
    this.corruptRecords++;
    this.metrics.checksumFailure(this.options.source.kind);
    this.hub.emit('record-corrupt', { store: this.options.source.kind, seq: error.seq, error });
    const head = await this.options.source.head().catch(() => undefined);
    if (head !== undefined) this.carry(this.core.observeHead(head.lastSeq, this.nowMs()));
    const next = toSeq(this.core.appliedSeq + 1n);
    await this.fetch({
      fromSeq: next,
      toSeq: this.core.knownHeadSeq > next ? this.core.knownHeadSeq : next,
    });
  }

  private async follow(subscription: Subscription): Promise<void> {
    for await (const event of subscription) {
      // A closed subscription may still hand over the event it was producing: past
      // suspend() (a promotion, an install, stop) nothing may move the state.
      if (this.suspended) return;
      if (event.type === 'visibility') {
        this.metrics.visibility(subscription, event.visibility, this.options.source.kind);
        if (event.visibility === 'visible') {
          this.fire('connected');
          void this.readHead();
          continue;
        }
        this.fire('source_lost');
        this.warnings.maybeWarn(
          'source-blind',
          `source ${this.options.source.kind} is not visible: degraded`,
          event.cause,
        );
        continue;
      }
      const delivery = this.decode(event.record, this.options.source);
      this.carry(this.core.receive({ ...delivery, headSeq: event.record.lastSeq }, this.nowMs()));
    }
  }

  /** After connecting: the committed head, so a node with nothing to apply is seen caught up. */
  private async readHead(): Promise<void> {
    const head = await this.options.source.head().catch(() => undefined);
    if (head !== undefined && !this.suspended) this.carry(this.core.headRead(head.lastSeq));
  }

  /** A failure the source may recover from: degraded (fail closed), retried by the caller. */
  private degrade(error: unknown): void {
    this.lastError = message(error);
    this.fire('source_lost');
    const outcome = this.stateValue === 'degraded' ? 'degraded' : 'retrying';
    this.hub.emit('loop-failed', { loop: 'follow', error, outcome });
    this.warnings.maybeWarn(
      'loop-failed',
      `standby follow loop failed (${this.lastError}): ${outcome}, resubscribing`,
      error,
    );
  }

  /** Fails the node closed: the lifecycle says so, every loop stops, waiters are told. */
  private fail(loop: StandbyLoop, error: unknown): void {
    if (this.stateValue === 'failed' || this.stateValue === 'stopped') return;
    this.lastError = message(error);
    this.fire('fatal');
    this.hub.emit('loop-failed', { loop, error, outcome: 'failed' });
    this.warnings.maybeWarn(
      'loop-failed',
      `standby ${loop} failed (${this.lastError}): failed closed`,
      error,
    );
    this.promotion?.stop();
    this.haltLoops();
    this.wakeWaiters();
  }

  /** A record that fails verification is dropped: its entries become a gap, fetched again. */
  private decode(record: VerifiedRecord, store: LogStore): StandbyDelivery {
    try {
      return { kind: 'record', entries: decodeVerifiedRecord(record, this.options.compression) };
    } catch (error) {
      this.corruptRecords++;
      this.metrics.checksumFailure(store.kind);
      this.hub.emit('record-corrupt', { store: store.kind, seq: record.firstSeq, error });
      return { kind: 'corrupt' };
    }
  }

  /**
   * Carries out the core's output, in its order: apply, report skips, fetch, publish
   * the lifecycle events, wake waiters. A state machine that throws leaves it behind
   * the applier (which has moved on): the node fails closed rather than serve that
   * state, and nothing after the apply is carried out (the lifecycle events the core
   * derived from the same input are published first, then `fatal`).
   */
  private carry(out: StandbyOutput): void {
    if (this.stateValue === 'failed' || this.stateValue === 'stopped') return;
    try {
      for (const entry of out.apply) this.options.stateMachine.apply(entry);
    } catch (error) {
      this.publish(...out.events);
      this.fail('apply', error);
      return;
    }
    const lastApplied = out.apply.at(-1);
    if (lastApplied !== undefined) this.lastAppliedTsMs = lastApplied.ts;
    for (const range of out.skipped) this.reportSkipped(range);
    for (const range of out.fetch) {
      this.warnGap(range);
      void this.fetch(range);
    }
    this.publish(...out.events);
    this.metrics.refresh();
    if (out.apply.length > 0) {
      this.wakeWaiters();
      this.schedule?.maybeSnapshot();
    }
  }

  private reportSkipped(range: SeqRange): void {
    this.hub.emit('range-skipped', { fromSeq: range.fromSeq, toSeq: range.toSeq });
    this.warnings.maybeWarn(
      'range-skipped',
      `standby skipped seqs ${range.fromSeq}..${range.toSeq} (${range.toSeq - range.fromSeq + 1n} entries): divergent`,
      undefined,
      range,
    );
  }

  /** A gap outlived gapRequestDelayMs: its seqs are fetched (again, after a backoff, while it stays open). */
  private warnGap(range: SeqRange): void {
    const store = (this.options.fetchStore ?? this.options.source).kind;
    this.warnings.maybeWarn(
      'gap',
      `standby gap: seqs ${range.fromSeq}..${range.toSeq} missing, fetching them from ${store}`,
      undefined,
      range,
    );
  }

  private snapshotHost(): SnapshotHost {
    const core = () => this.core;
    const snapshotSeq = () => this.snapshotSeq;
    return {
      get appliedSeq() {
        return core().appliedSeq;
      },
      get snapshotSeq() {
        return snapshotSeq();
      },
      canSnapshot: () => !this.core.divergent && ['syncing', 'watching', 'primary'].includes(this.stateValue),
      take: (sink) => this.takeSnapshot(sink),
      taken: (manifest) => this.hub.emit('snapshot-taken', { lastSeq: manifest.lastSeq }),
      failed: (error) => {
        this.hub.emit('loop-failed', { loop: 'snapshot', error, outcome: 'retrying' });
        this.warnings.maybeWarn('snapshot', `snapshot failed (${message(error)}): retried later`, error);
      },
    };
  }

  /**
   * Reads `range` from the fetch store (else the source) into the applier. When the
   * record covering a seq is damaged in that store, probes further seqs (+1, +2, +4, …)
   * for the next readable record, so one bad record costs only its own seqs. Any other
   * failure leaves the gap to the applier, which asks again after its backoff and in
   * the end skips or halts on it; it is reported as a `fetch` loop failure meanwhile.
   */
  private async fetch(range: SeqRange): Promise<void> {
    const store = this.options.fetchStore ?? this.options.source;
    const lastSeq = range.toSeq > this.core.knownHeadSeq ? range.toSeq : this.core.knownHeadSeq;
    let from: bigint = range.fromSeq;
    for (let step = 1n; from <= lastSeq; step *= 2n) {
      try {
        for await (const record of store.read(toSeq(from))) {
          if (record.firstSeq > range.toSeq) break;
          this.carry(this.core.receive(this.decode(record, store), this.nowMs()));
        }
        return;
      } catch (error) {
        if (error instanceof InvariantViolation) return this.fail('fetch', error);
        if (!(error instanceof CorruptStoreError)) {
          this.hub.emit('loop-failed', { loop: 'fetch', error, outcome: 'retrying', range });
          return;
        }
        // Once per fetch: the probes after the first mostly re-read the same damaged record.
        if (step === 1n) this.metrics.checksumFailure(store.kind);
        from = range.fromSeq + step;
      }
    }
  }

  /** Moves the lifecycle (the core's table) and publishes the change. */
  private fire(event: StandbyEvent): void {
    this.publish(this.core.fire(event));
  }

  /** Publishes lifecycle changes; a rejected event is logged and published, never dropped silently. */
  private publish(...changes: readonly LifecycleChange[]): void {
    for (const change of changes) {
      if (!change.ok) {
        this.hub.emit('transition-rejected', {
          state: change.state,
          event: change.event,
          reason: change.reason,
        });
        this.warnings.maybeWarn('transition-rejected', `standby lifecycle: ${change.reason}`);
        continue;
      }
      if (change.from === change.to) continue;
      this.metrics.stateChanged(change.to);
      this.options.onState?.(change.from, change.to, change.event);
      this.hub.emit('state-changed', { from: change.from, to: change.to, event: change.event });
    }
  }

  private get stateValue(): StandbyState {
    return this.core.state;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Errors that resubscribing cannot fix: our bugs, and store refusals marked final. */
function isFatal(error: unknown): boolean {
  return error instanceof InvariantViolation || (error instanceof OplogError && !error.retryable);
}
