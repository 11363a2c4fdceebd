/**
 * The standby's typed events (DESIGN.md "The service": the node supervisor republishes
 * them). A small structural interface — `on(name, listener)` returning an unsubscribe
 * function — so a supervisor, a test or a metrics adapter can listen without caring
 * how events are delivered. Listeners run synchronously, in subscription order; one
 * that throws is reported through `onListenerError` and never breaks the loop that
 * emitted the event.
 */
import type { StandbyEvent, StandbyState } from '../core/standby-state.js';
import type { FencedError } from '../core/errors.js';
import type { Seq } from '../core/types.js';

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
export interface StandbyEvents {
  on<K extends StandbyEventName>(name: K, listener: StandbyListener<K>): () => void;
}

export class StandbyEventHub implements StandbyEvents {
  private readonly listeners = new Map<StandbyEventName, Set<(payload: never) => void>>();

  constructor(private readonly onListenerError: (name: StandbyEventName, error: unknown) => void) {}

  on<K extends StandbyEventName>(name: K, listener: StandbyListener<K>): () => void {
    const set = this.listeners.get(name) ?? new Set();
    this.listeners.set(name, set);
    const entry = listener as (payload: never) => void;
    set.add(entry);
    return () => set.delete(entry);
  }

  emit<K extends StandbyEventName>(name: K, payload: StandbyEventMap[K]): void {
    for (const listener of [...(this.listeners.get(name) ?? [])]) {
      try {
        (listener as StandbyListener<K>)(payload);
      } catch (error) {
        this.onListenerError(name, error);
      }
    }
  }
}
