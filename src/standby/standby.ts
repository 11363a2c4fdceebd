/**
 * The standby: subscribe to the source store → verify and decode each record → the
 * applier (ordering, gaps, skips; src/core) → the state machine. Gaps are fetched from
 * the other store when there is one, else from the source. The standby lifecycle table
 * (src/core/standby-state.ts) is driven by the subscription's visibility and by the
 * applier: blind → degraded at once (fail closed); visible again → syncing, re-reading
 * from applied + 1.
 *
 * Not yet here (README "Known limits"): promotion, automatic failover, snapshots.
 */
import { Applier, type ApplierConfig, type ApplierOutput } from '../core/applier.js';
import type { Compression } from '../core/compression.js';
import { OplogError } from '../core/errors.js';
import { decodeRecord } from '../core/record-codec.js';
import { transition, type StandbyEvent, type StandbyState } from '../core/standby-state.js';
import { epoch as toEpoch, seq as toSeq, type Entry, type Seq, type SeqRange } from '../core/types.js';
import type { LogStore, Subscription } from '../stores/log-store.js';
import type { StateMachine } from '../snapshot/state-machine.js';

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
  /** Called on every lifecycle change, e.g. for logs. */
  readonly onState?: (from: StandbyState, to: StandbyState, event: StandbyEvent) => void;
}

export interface StandbyStatus {
  readonly state: StandbyState;
  readonly appliedSeq: Seq;
  readonly headSeq: Seq;
  readonly lagEntries: bigint;
  readonly degraded: boolean;
  readonly divergent: boolean;
  readonly skipped: readonly SeqRange[];
  readonly corruptRecords: number;
}

export class Standby {
  private readonly applier: Applier;
  private stateValue: StandbyState = 'starting';
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private corruptRecords = 0;
  private readonly nowMs: () => number;
  private readonly appliedWaiters = new Set<() => void>();

  constructor(private readonly options: StandbyOptions) {
    this.applier = new Applier(
      { ...DEFAULT_APPLIER_CONFIG, ...options.applier },
      { appliedSeq: toSeq(0n), appliedEpoch: toEpoch(0n) },
    );
    this.nowMs = options.nowMs ?? Date.now;
  }

  get status(): StandbyStatus {
    const applied = this.applier.appliedSeq;
    const head = this.applier.knownHeadSeq;
    return {
      state: this.stateValue,
      appliedSeq: applied,
      headSeq: head,
      lagEntries: head - applied,
      degraded: this.stateValue === 'degraded',
      divergent: this.applier.divergent,
      skipped: this.applier.skippedRanges,
      corruptRecords: this.corruptRecords,
    };
  }

  start(): void {
    this.fire('started');
    this.subscription = this.options.source.subscribe(toSeq(this.applier.appliedSeq + 1n));
    this.running = this.follow(this.subscription);
    this.timer = setInterval(() => this.carry(this.applier.tick(this.nowMs())), this.options.tickMs ?? 50);
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
    clearInterval(this.timer);
    this.subscription?.close();
    await this.running?.catch(() => undefined);
    this.fire('stop');
    for (const waiter of [...this.appliedWaiters]) waiter();
  }

  private async follow(subscription: Subscription): Promise<void> {
    try {
      for await (const event of subscription) {
        if (event.type === 'visibility') {
          this.fire(event.visibility === 'visible' ? 'connected' : 'source_lost');
          continue;
        }
        const now = this.nowMs();
        this.carry(this.applier.observeHead(event.record.lastSeq, now));
        this.carry(this.applier.receive(this.decode(event.record.bytes), now));
      }
    } catch (error) {
      if (error instanceof OplogError) this.fire('fatal');
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
    for (const range of out.fetch) void this.fetch(range);
    if (out.apply.length > 0) {
      for (const waiter of [...this.appliedWaiters]) waiter();
      const caughtUp = this.applier.appliedSeq >= this.applier.knownHeadSeq;
      if (caughtUp && this.stateValue === 'syncing') this.fire('caught_up');
      if (!caughtUp && this.stateValue === 'watching') this.fire('fell_behind');
    }
  }

  private async fetch(range: SeqRange): Promise<void> {
    const store = this.options.fetchStore ?? this.options.source;
    try {
      for await (const record of store.read(range.fromSeq)) {
        if (record.firstSeq > range.toSeq) break;
        this.carry(this.applier.receive(this.decode(record.bytes), this.nowMs()));
      }
    } catch {
      // The applier asks again after its backoff.
    }
  }

  private fire(event: StandbyEvent): void {
    const result = transition(this.stateValue, event);
    if (!result.ok) return;
    const from = this.stateValue;
    this.stateValue = result.to;
    if (from !== result.to) this.options.onState?.(from, result.to, event);
  }
}
