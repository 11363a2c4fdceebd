/**
 * The node's typed events (DESIGN.md "The service"): one map, one hub. The supervisor
 * republishes its standby's events and adds the writer's; a listener that throws is
 * reported through `onListenerError` and never breaks the loop that emitted the event.
 */
import { EventHub, type TypedEvents } from '../core/event-hub.js';
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
    /** The seqs a failed gap fetch (loop `fetch`) was after. */
    readonly range?: StandbyEventMap['loop-failed']['range'];
  };
}

export type NodeEventName = keyof NodeEventMap;
export type NodeListener<K extends NodeEventName> = (payload: NodeEventMap[K]) => void;

/** What a listener needs: subscribe, and get back how to unsubscribe. */
export type NodeEvents = TypedEvents<NodeEventMap>;

export class NodeEventHub extends EventHub<NodeEventMap> {}
