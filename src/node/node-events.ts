/**
 * The node's typed events (DESIGN.md "The service"): one map, one hub. The supervisor
 * republishes its standby's events and adds the writer's; a listener that throws is
 * reported through `onListenerError` and never breaks the loop that emitted the event.
 */
import type { FencedError, OplogError } from '../core/errors.js';
import type { Epoch, Seq } from '../core/types.js';
import type { StandbyEventMap } from '../standby/standby-events.js';
import type { NodeState } from './node-status.js';

export interface NodeEventMap {
  /** The node's state moved (a standby's lifecycle, or a started primary's writer). */
  readonly 'state-changed': { readonly from: NodeState; readonly to: NodeState; readonly event: string };
  /** A gap given up: these seqs were never applied, the node is divergent. */
  readonly 'range-skipped': { readonly fromSeq: Seq; readonly toSeq: Seq };
  /** A newer epoch fenced this node's writer (or its promotion's claim). */
  readonly fenced: { readonly epoch: bigint; readonly error: FencedError };
  /** This node's writer stopped for good (fenced, closed, or refused by a store). */
  readonly 'writer-stopped': { readonly epoch: Epoch; readonly error: OplogError };
  /** A record failed verification; it is never applied (see StandbyEventMap). */
  readonly 'record-corrupt': StandbyEventMap['record-corrupt'];
  /** A background loop failed (see StandbyEventMap; the node adds `failover`). */
  readonly 'loop-failed': {
    readonly loop: StandbyEventMap['loop-failed']['loop'] | 'failover';
    readonly error: unknown;
    readonly outcome: 'degraded' | 'failed' | 'retrying';
  };
}

export type NodeEventName = keyof NodeEventMap;
export type NodeListener<K extends NodeEventName> = (payload: NodeEventMap[K]) => void;

/** What a listener needs: subscribe, and get back how to unsubscribe. */
export interface NodeEvents {
  on<K extends NodeEventName>(name: K, listener: NodeListener<K>): () => void;
}

export class NodeEventHub implements NodeEvents {
  private readonly listeners = new Map<NodeEventName, Set<(payload: never) => void>>();

  constructor(private readonly onListenerError: (name: NodeEventName, error: unknown) => void) {}

  on<K extends NodeEventName>(name: K, listener: NodeListener<K>): () => void {
    const set = this.listeners.get(name) ?? new Set();
    this.listeners.set(name, set);
    const entry = listener as (payload: never) => void;
    set.add(entry);
    return () => set.delete(entry);
  }

  emit<K extends NodeEventName>(name: K, payload: NodeEventMap[K]): void {
    for (const listener of [...(this.listeners.get(name) ?? [])]) {
      try {
        (listener as NodeListener<K>)(payload);
      } catch (error) {
        this.onListenerError(name, error);
      }
    }
  }
}
