/**
 * The standby's typed events (DESIGN.md "The service": the node supervisor republishes
 * them). A small structural interface — `on(name, listener)` returning an unsubscribe
 * function — so a supervisor, a test or a metrics adapter can listen without caring
 * how events are delivered. Listeners run synchronously, in subscription order; one
 * that throws is reported through `onListenerError` and never breaks the loop that
 * emitted the event.
 */
import { EventHub, type TypedEvents } from '../core/event-hub.js';
import type { StandbyEvent, StandbyState } from '../core/standby-state.js';
import type { FencedError } from '../core/errors.js';
import type { Seq, SeqRange } from '../core/types.js';

/** The background work a standby runs by itself; each failure names one. */
export type StandbyLoop = 'follow' | 'tick' | 'fetch' | 'apply' | 'promotion' | 'writer' | 'snapshot';

export interface StandbyEventMap {
  /** The lifecycle moved (the same call as StandbyOptions.onState). */
  readonly 'state-changed': {
    readonly from: StandbyState;
    readonly to: StandbyState;
    readonly event: StandbyEvent;
  };
  /** The lifecycle table refused an event: the shell's view and the table disagree. */
  readonly 'transition-rejected': {
    readonly state: StandbyState;
    readonly event: StandbyEvent;
    readonly reason: string;
  };
  /** The applier gave a gap up (skip policy `skip`): these seqs were never applied. */
  readonly 'range-skipped': { readonly fromSeq: Seq; readonly toSeq: Seq };
  /**
   * A background loop failed. `degraded`: the node cannot see its source and retries
   * by itself; `failed`: the node failed closed; `retrying`: nothing changed, the loop
   * tries again later (a snapshot, a gap fetch).
   */
  readonly 'loop-failed': {
    readonly loop: StandbyLoop;
    readonly error: unknown;
    readonly outcome: 'degraded' | 'failed' | 'retrying';
    /** The seqs a failed gap fetch (loop `fetch`) was after. */
    readonly range?: SeqRange;
  };
  /** A newer epoch fenced this node's writer (or its promotion's claim). */
  readonly fenced: { readonly epoch: bigint; readonly error: FencedError };
  /**
   * A record failed verification or decoding (from `store`, the kind; at `seq`, its
   * first seq when known). It is never applied: its seqs are fetched again.
   */
  readonly 'record-corrupt': {
    readonly store: string;
    readonly seq: bigint | undefined;
    readonly error: unknown;
  };
  /** The snapshot policy stored (and pruned after) a snapshot at `lastSeq`. */
  readonly 'snapshot-taken': { readonly lastSeq: Seq };
}

export type StandbyEventName = keyof StandbyEventMap;
export type StandbyListener<K extends StandbyEventName> = (payload: StandbyEventMap[K]) => void;

/** What a listener needs: subscribe, and get back how to unsubscribe. */
export type StandbyEvents = TypedEvents<StandbyEventMap>;

export class StandbyEventHub extends EventHub<StandbyEventMap> {}
