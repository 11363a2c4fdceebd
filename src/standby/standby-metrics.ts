/**
 * What the standby reports through the Metrics port (src/core/telemetry.ts), as
 * writer-metrics.ts does for the writer: where it is (head, applied, lag, pending,
 * state, whether it is the primary or divergent, epoch, last snapshot), what its applier did (duplicates dropped, gaps opened,
 * filled and skipped) and what its loops saw (corrupt records, reconnects, fences,
 * snapshots). One instance per standby; instruments are created once, here. Names and
 * units are issue 15's: `oplog_` prefix, base units, `_total` on counters.
 *
 * Cost: the gauges and the applier's counters are read in refresh(), which the shell
 * calls once per output of the core it carries out — one per record received or
 * fetched, one per tick (every tickMs) — never per entry; the applier keeps its
 * counters as plain fields. Without a Metrics bound (NO_METRICS) refresh() returns at
 * once. The applier's counters are cumulative: each refresh sends the difference since
 * the last one, and a snapshot install (which replaces the applier and its counters)
 * loses nothing, since the old counters are read one last time.
 *
 * Events the shell observes are reported where they happen (standby.ts, one line each):
 * a lifecycle change, a record that failed verification or decoding, a resubscribe or a
 * subscription visible again after blind, a fence, a snapshot taken. Checksum failures
 * count failed reads, as status.corruptRecords does: a record damaged in every store is
 * counted again at each retry until the skip policy gives its seqs up; a gap fetch that
 * probes past a damaged record counts it once.
 */
import type { ApplierCounters } from '../core/applier.js';
import type { StandbyCore } from '../core/standby-core.js';
import { STANDBY_STATES, type StandbyState } from '../core/standby-state.js';
import {
  NO_METRICS,
  type Counter,
  type Gauge,
  type Histogram,
  type Labels,
  type Metrics,
} from '../core/telemetry.js';
import type { SnapshotManifest } from '../snapshot/snapshot-store.js';
import type { Visibility } from '../stores/log-store.js';
import type { StandbyStatus } from './standby-options.js';

/** What the metrics read from the standby (standby.ts builds it). */
export interface StandbyMetricsHost {
  readonly core: StandbyCore;
  /** The status as the API reports it, so /metrics and the status agree. */
  status(): StandbyStatus;
  /** Kinds of the stores the standby reads; their per-store counters start at 0. */
  readonly storeKinds: readonly string[];
}

/** The applier counters sent so far, and the object they were read from. */
interface Sent {
  readonly from: Readonly<ApplierCounters>;
  duplicates: number;
  gapsOpened: number;
  gapsFilled: number;
  skippedRanges: number;
}

const SECONDS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** 1 KiB to 1 GiB, ×4. */
const BYTES_BUCKETS = Array.from({ length: 11 }, (_, i) => 1024 * 4 ** i);

export class StandbyMetrics {
  private readonly enabled: boolean;
  private readonly headSeq: Gauge;
  private readonly appliedSeq: Gauge;
  private readonly lagEntries: Gauge;
  private readonly lagSeconds: Gauge;
  private readonly pendingEntries: Gauge;
  private readonly pendingBytes: Gauge;
  private readonly state: Gauge;
  private readonly isPrimary: Gauge;
  private readonly divergent: Gauge;
  private readonly epoch: Gauge;
  private readonly snapshotLastSeq: Gauge;
  private readonly gaps: Counter;
  private readonly checksumFailures: Counter;
  private readonly duplicates: Counter;
  private readonly reconnects: Counter;
  private readonly fences: Counter;
  private readonly snapshotSeconds: Histogram;
  private readonly snapshotBytes: Histogram;
  /** The state whose `oplog_state` series is 1; every other state's is 0. */
  private stateNow: StandbyState;
  private sent: Sent;
  /** Subscriptions whose last visibility event was `blind`. */
  private readonly blind = new WeakSet<object>();

  constructor(
    metrics: Metrics,
    private readonly host: StandbyMetricsHost,
  ) {
    this.enabled = metrics !== NO_METRICS;
    const gauge = (name: string, help: string) => metrics.gauge(name, help);
    this.headSeq = gauge('oplog_head_seq', 'Highest seq known to exist in the source');
    this.appliedSeq = gauge('oplog_applied_seq', 'Last seq applied to the state machine');
    this.lagEntries = gauge('oplog_replication_lag_entries', 'head_seq - applied_seq');
    this.lagSeconds = gauge(
      'oplog_replication_lag_seconds',
      'Age of the newest applied entry (its primary timestamp) while behind; 0 when caught up',
    );
    this.pendingEntries = gauge('oplog_pending_entries', 'Entries held out of order, waiting for a gap');
    this.pendingBytes = gauge('oplog_pending_bytes', 'Estimated bytes held by the pending buffer');
    this.state = metrics.gauge('oplog_state', 'Lifecycle state: 1 for the current one', ['state']);
    // Every served node is a standby role; it writes exactly while its state is
    // `primary` (a writer that stops, fenced or failed, moves it to stopped or failed).
    this.isPrimary = gauge('oplog_is_primary', "1 while this node's writer is the primary, else 0");
    this.divergent = gauge(
      'oplog_divergent',
      "1 once this node skipped entries or failed a checkpoint: its state is not the primary's",
    );
    this.epoch = gauge('oplog_epoch', "Epoch of the last applied entry, or this node's writer once primary");
    this.snapshotLastSeq = gauge(
      'oplog_snapshot_last_seq',
      'lastSeq of the newest snapshot taken or installed',
    );
    this.gaps = metrics.counter('oplog_gaps_total', 'Holes in the seqs: opened, filled, skipped', [
      'outcome',
    ]);
    this.checksumFailures = metrics.counter(
      'oplog_checksum_failures_total',
      'Reads of a record that failed verification or decoding (never applied), by store',
      ['store'],
    );
    this.duplicates = metrics.counter('oplog_duplicates_dropped_total', 'Entries dropped as already applied');
    this.reconnects = metrics.counter(
      'oplog_reconnects_total',
      'Source connected again after a failure (a resubscribe, or a subscription visible after blind)',
      ['store'],
    );
    this.fences = metrics.counter('oplog_fenced_total', 'Times a newer epoch fenced this node');
    this.snapshotSeconds = metrics.histogram(
      'oplog_snapshot_duration_seconds',
      'One snapshot taken: from capture to stored',
      [],
      SECONDS_BUCKETS,
    );
    this.snapshotBytes = metrics.histogram(
      'oplog_snapshot_bytes',
      'Stored (compressed) body of one snapshot taken',
      [],
      BYTES_BUCKETS,
    );
    this.stateNow = host.core.state;
    for (const state of STANDBY_STATES) this.state.set({ state }, state === this.stateNow ? 1 : 0);
    this.isPrimary.set({}, this.stateNow === 'primary' ? 1 : 0);
    this.divergent.set({}, host.core.divergent ? 1 : 0);
    // Counters start at 0 so that rate() and increase() see their first event.
    for (const outcome of ['opened', 'filled', 'skipped']) this.gaps.inc({ outcome }, 0);
    for (const store of new Set(host.storeKinds)) {
      this.checksumFailures.inc({ store }, 0);
      this.reconnects.inc({ store }, 0);
    }
    this.duplicates.inc({}, 0);
    this.fences.inc({}, 0);
    this.sent = unsent(host.core.counters);
  }

  /** Reads the gauges and the applier's counters: after each core output, never per entry. */
  refresh(): void {
    if (!this.enabled) return;
    const { core } = this.host;
    const status = this.host.status();
    this.headSeq.set({}, Number(status.headSeq));
    this.appliedSeq.set({}, Number(status.appliedSeq));
    this.lagEntries.set({}, Number(status.lagEntries));
    this.lagSeconds.set({}, status.lagMs / 1000);
    this.divergent.set({}, status.divergent ? 1 : 0);
    this.pendingEntries.set({}, core.pendingEntries);
    this.pendingBytes.set({}, core.pendingBytes);
    this.epoch.set({}, Number(status.epoch ?? core.appliedEpoch));
    this.snapshotLastSeq.set({}, Number(status.snapshotSeq));
    const counters = core.counters;
    if (counters !== this.sent.from) {
      // A snapshot install replaced the applier: the rest of the old count, then the new one from 0.
      this.sendCounters(this.sent.from);
      this.sent = unsent(counters);
    }
    this.sendCounters(counters);
  }

  /** The lifecycle moved to `state`. */
  stateChanged(state: StandbyState): void {
    if (state === this.stateNow) return;
    this.state.set({ state: this.stateNow }, 0);
    this.state.set({ state }, 1);
    this.isPrimary.set({}, state === 'primary' ? 1 : 0);
    this.stateNow = state;
  }

  /** `store` served a record that failed verification or decoding. */
  checksumFailure(store: string): void {
    this.checksumFailures.inc({ store });
  }

  /** The follow loop subscribes to `store` again after a failure. */
  resubscribed(store: string): void {
    this.reconnects.inc({ store });
  }

  /** A subscription's visibility event: `visible` after `blind` on the same one is a reconnect. */
  visibility(subscription: object, visibility: Visibility, store: string): void {
    if (visibility === 'blind') this.blind.add(subscription);
    else if (this.blind.delete(subscription)) this.reconnects.inc({ store });
  }

  /** A newer epoch fenced this node (its writer, or its promotion's claim). */
  fenced(): void {
    this.fences.inc({});
  }

  /** A snapshot was stored, `seconds` after its capture began. */
  snapshotTaken(manifest: SnapshotManifest, seconds: number): void {
    this.snapshotSeconds.observe({}, seconds);
    this.snapshotBytes.observe({}, manifest.bodyBytes);
    this.refresh();
  }

  private sendCounters(counters: Readonly<ApplierCounters>): void {
    const sent = this.sent;
    maybeInc(this.duplicates, {}, counters.duplicates - sent.duplicates);
    maybeInc(this.gaps, { outcome: 'opened' }, counters.gapsOpened - sent.gapsOpened);
    maybeInc(this.gaps, { outcome: 'filled' }, counters.gapsFilled - sent.gapsFilled);
    maybeInc(this.gaps, { outcome: 'skipped' }, counters.skippedRanges - sent.skippedRanges);
    sent.duplicates = counters.duplicates;
    sent.gapsOpened = counters.gapsOpened;
    sent.gapsFilled = counters.gapsFilled;
    sent.skippedRanges = counters.skippedRanges;
  }
}

function unsent(from: Readonly<ApplierCounters>): Sent {
  return { from, duplicates: 0, gapsOpened: 0, gapsFilled: 0, skippedRanges: 0 };
}

function maybeInc(counter: Counter, labels: Labels, value: number): void {
  if (value > 0) counter.inc(labels, value);
}
