/**
 * What a served node reports: the `GET /v1/status` document (the node's status, each
 * store's head asked with a deadline, the checkpoint checks) and the reason `/readyz`
 * gives when the node is not ready.
 */
import type { OplogConfig, StoreKind } from '../config/types.js';
import type { NodeStatus } from '../node/node-status.js';
import type { LogStore } from '../stores/log-store.js';
import type { CheckpointMismatch } from './checkpoints.js';

/** How long the status waits for one store's head. */
const STORE_HEAD_TIMEOUT_MS = 2_000;

/** Undefined when ready: a primary that writes, a standby watching within maxLagMs; never a divergent node. */
export function notReadyReason(status: NodeStatus, config: OplogConfig): string | undefined {
  const standby = status.standby!;
  if (standby.divergent) return 'divergent';
  if (status.writing) return undefined;
  if (config.role === 'primary') return `not writing yet (state ${status.state})`;
  if (status.state !== 'watching') return `state ${status.state}`;
  if (standby.lagMs > config.standby.maxLagMs)
    return `lag ${standby.lagMs} ms over maxLagMs ${config.standby.maxLagMs}`;
  return undefined;
}

export interface ReportParts {
  readonly config: OplogConfig;
  readonly version: string;
  readonly stores: ReadonlyMap<StoreKind, LogStore>;
  readonly checkpointsChecked: number;
  readonly mismatch: CheckpointMismatch | undefined;
}

export async function statusDocument(
  status: NodeStatus,
  parts: ReportParts,
): Promise<Record<string, unknown>> {
  const standby = status.standby!;
  const { config } = parts;
  const stores = await Promise.all(
    [...parts.stores].map(async ([kind, store]) => {
      try {
        const head = await withTimeout(store.head(), STORE_HEAD_TIMEOUT_MS);
        return { kind, headSeq: head.lastSeq.toString(), epoch: head.epoch.toString() };
      } catch (error) {
        return { kind, error: String(error) };
      }
    }),
  );
  return {
    nodeId: config.nodeId,
    clusterId: config.clusterId,
    version: parts.version,
    role: config.role,
    state: status.state,
    writing: status.writing,
    epoch: status.epoch?.toString() ?? null,
    headSeq: standby.headSeq.toString(),
    appliedSeq: standby.appliedSeq.toString(),
    lag: { entries: standby.lagEntries.toString(), seconds: standby.lagMs / 1000 },
    degraded: standby.degraded,
    divergent: standby.divergent,
    checkpoints: {
      everyEntries: config.checkpoints.everyEntries,
      checked: parts.checkpointsChecked,
      mismatch: parts.mismatch ?? null,
    },
    skippedEntries: standby.skippedEntries.toString(),
    corruptRecords: standby.corruptRecords,
    snapshotSeq: standby.snapshotSeq.toString(),
    stores,
    lastError: standby.lastError ?? status.error ?? null,
    failover: status.failover ?? null,
    promotion: {
      attempts: standby.promotionAttempts,
      lastError: standby.lastPromotionError ?? null,
      overrides: standby.promotionOverrides,
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e as Error)),
    );
  });
}
