/** The one status a node publishes (DESIGN.md "The service"), whatever its role. */
import type { StandbyState } from '../core/standby-state.js';
import type { Seq } from '../core/types.js';
import type { AutoFailoverStatus } from './auto-failover.js';
import type { StandbyStatus } from '../standby/standby-options.js';

/** How the node was started: as the writer, or as a standby (promotable). */
export type NodeRole = 'primary' | 'standby';

/**
 * A standby's lifecycle state; a node started as primary is `starting`, then `primary`
 * while its writer runs and `stopped` once it stopped for good.
 */
export type NodeState = StandbyState;

export interface NodeStatus {
  readonly role: NodeRole;
  readonly state: NodeState;
  /** Whether this node has a running writer (started as primary, or promoted). */
  readonly writing: boolean;
  /** The writer's epoch, once this node has one. */
  readonly epoch: bigint | undefined;
  /** The code of the error that stopped this node's writer, if it stopped. */
  readonly error: string | undefined;
  /** The standby's applied seq (undefined for a node started as primary). */
  readonly appliedSeq: Seq | undefined;
  /** The standby's full status (role `standby`). */
  readonly standby: StandbyStatus | undefined;
  /** Automatic failover's attempts (role `standby` with an election). */
  readonly failover: AutoFailoverStatus | undefined;
}
