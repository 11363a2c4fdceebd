/**
 * The node supervisor's options from a served node's config (src/node/node.ts): every
 * node a standby over the configured stores, applying into the served state; writer
 * limits and retries from `writer.*`; snapshots every `snapshots.everyEntries`; for
 * role `auto`, the election and the failover delays.
 */
import type { Compression } from '../core/compression.js';
import type { Logger, Metrics } from '../core/telemetry.js';
import type { OplogConfig } from '../config/types.js';
import type { NodeOptions } from '../node/node.js';
import type { FileSnapshotStore } from '../snapshot/snapshot-store.js';
import type { EtcdElection } from '../stores/etcd/election.js';
import type { NodeStores } from './open-stores.js';
import type { ServedState } from './served-state.js';

export interface NodeParts {
  readonly stores: NodeStores;
  readonly state: ServedState;
  readonly snapshots: FileSnapshotStore;
  readonly metrics: Metrics;
  readonly election: EtcdElection | undefined;
  readonly compression: Compression;
  readonly logger: Logger;
}

export function nodeOptions(config: OplogConfig, parts: NodeParts): NodeOptions {
  return {
    role: 'standby',
    standby: {
      source: parts.stores.source,
      fetchStore: parts.stores.fetch,
      stateMachine: parts.state,
      compression: parts.compression,
      applier: config.standby.applier,
      tickMs: config.standby.tickMs,
      logger: parts.logger,
      // The node's logger folds repeated warnings itself, with counts (node-logger.ts).
      warningIntervalMs: 0,
      metrics: parts.metrics,
      promotionStores: () => parts.stores.promotionStores(),
      ...(config.snapshots.everyEntries > 0
        ? {
            snapshotPolicy: {
              sink: parts.snapshots,
              everyEntries: config.snapshots.everyEntries,
              keep: config.snapshots.keep,
            },
          }
        : {}),
    },
    writer: {
      limits: {
        batchEntriesMax: config.writer.batchEntriesMax,
        batchBytesMax: config.writer.batchBytesMax,
        lingerMs: config.writer.lingerMs,
        pipelineDepth: config.writer.pipelineDepth,
        runAheadBytesMax: config.writer.runAheadBytesMax,
        queueEntriesMax: config.writer.queueEntriesMax,
        queueBytesMax: config.writer.queueBytesMax,
      },
      retryDelayMs: config.writer.retryDelayMs,
      retryDelayMaxMs: config.writer.retryDelayMaxMs,
      metrics: parts.metrics,
      logger: parts.logger,
    },
    ...(config.role === 'auto' && parts.election !== undefined
      ? {
          election: parts.election,
          failover: {
            baseDelayMs: config.failover.baseDelayMs,
            lagDelayMsPerEntry: config.failover.lagDelayMsPerEntry,
            retryMs: config.failover.retryMs,
          },
        }
      : {}),
    onListenerError: (name, error) =>
      parts.logger.warn({ listener: name, cause: String(error) }, 'a node event listener threw'),
  };
}
