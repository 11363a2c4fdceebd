/**
 * Every default of the configuration, written out once (DESIGN.md "Configuration").
 * The values are those the code already uses when an option is left out
 * (DEFAULT_PLANNER_LIMITS, DEFAULT_APPLIER_CONFIG, the stores' and the auto-failover's
 * fallbacks); src/config may import only src/core, so they are copied here, and
 * test/config/defaults.test.ts imports the code's constants and fails when the two
 * drift apart. Values the code has no default for (the server's, checkpoints, the lease
 * TTL) are chosen here, each with its reason.
 *
 * Three defaults depend on other values and are computed in {@link derivedDefaults}:
 * `nodeId`, `source` and `snapshots.dir`. `clusterId` and `stores` have none: they
 * must be given.
 */
import { RECORD_BYTES_MAX } from '../core/limits.js';
import type {
  EtcdStoreConfig,
  FileStoreConfig,
  KafkaStoreConfig,
  OplogConfig,
  StoreConfig,
} from './types.js';

/** The defaulted sections and scalars of {@link OplogConfig}. */
export type ConfigDefaults = Omit<OplogConfig, 'clusterId' | 'stores' | 'nodeId' | 'source' | 'snapshots'> & {
  readonly snapshots: Omit<OplogConfig['snapshots'], 'dir'>;
};

const MiB = 1024 * 1024;

export const DEFAULT_CONFIG: ConfigDefaults = {
  // A node started without a role follows: it never fences a running primary by accident.
  role: 'standby',
  writer: {
    // DEFAULT_PLANNER_LIMITS (src/primary/primary-writer.ts).
    batchEntriesMax: 1024,
    batchBytesMax: Math.floor(RECORD_BYTES_MAX * 0.9),
    lingerMs: 2,
    pipelineDepth: 4,
    runAheadBytesMax: 16 * MiB,
    queueEntriesMax: 100_000,
    queueBytesMax: 256 * MiB,
    // PrimaryWriter's retry delays (DEFAULT_RETRY_DELAY_MS, DEFAULT_RETRY_DELAY_MAX_MS).
    retryDelayMs: 20,
    retryDelayMaxMs: 1_000,
  },
  standby: {
    // DEFAULT_APPLIER_CONFIG (src/standby/standby-options.ts).
    applier: {
      pendingEntriesMax: 100_000,
      pendingBytesMax: 256 * MiB,
      gapRequestDelayMs: 200,
      skipTimeoutMs: 30_000,
      fetchBackoffMs: 200,
      fetchBackoffMaxMs: 5_000,
      skipPolicy: 'halt',
      fetchRangesPerTickMax: 8,
      skippedRangesMax: 1_000,
    },
    // DEFAULT_TICK_MS (src/standby/standby-options.ts).
    tickMs: 50,
    // Replication lag p99 is tens of ms (README "Benchmarks"): 5 s behind is a real problem.
    maxLagMs: 5_000,
  },
  snapshots: {
    // A snapshot is built in memory and written whole: often enough that a bootstrap
    // replays little, rarely enough that it is not a steady cost.
    everyEntries: 100_000,
    // The snapshot policy's own default (DEFAULT_SNAPSHOT_KEEP, src/standby/snapshot-policy.ts).
    keep: 2,
  },
  failover: {
    // etcd grants at least 1.5 × its election timeout rounded up: 2 s with etcd's defaults,
    // so asking for less buys nothing; automatic failover then takes ~2–3 s (README).
    leaseTtlS: 2,
    // DEFAULT_AUTO_FAILOVER (src/node/auto-failover.ts).
    baseDelayMs: 50,
    lagDelayMsPerEntry: 1,
    retryMs: 200,
  },
  checkpoints: {
    // Each checkpoint hashes the whole state on every node: every 10,000 entries keeps
    // that under a few percent of apply work for states up to ~1M keys.
    everyEntries: 10_000,
  },
  bootstrap: {},
  server: {
    // Loopback: a node is not exposed on the network until its config says so.
    http: '127.0.0.1:8080',
    // DESIGN.md "Interfaces": 8 MiB, since a 4 MiB value is ~5.6 MiB of base64.
    bodyLimitBytes: 8 * MiB,
    readWaitMsMax: 5_000,
    watchBufferEntries: 10_000,
  },
  auth: {},
  logging: {
    level: 'info',
    pretty: false,
    // DEFAULT_WARNING_INTERVAL_MS (src/core/warning-folder.ts): a warning repeated every
    // second shows up every 10 s with its count, and never hides the lines around it.
    warningIntervalMs: 10_000,
  },
};

/** Defaults of each store kind's optional fields (the adapters' own fallbacks). */
export const DEFAULT_STORE_OPTIONS: {
  readonly file: Required<Omit<FileStoreConfig, 'kind' | 'dataDir'>>;
  readonly etcd: Pick<EtcdStoreConfig, 'prefix' | 'callTimeoutMs'>;
  readonly kafka: Required<Pick<KafkaStoreConfig, 'topicPrefix' | 'replicationFactor' | 'minInsyncReplicas'>>;
} = {
  // DEFAULT_SEGMENT_BYTES_MAX (src/stores/file/file-store.ts).
  file: { segmentBytesMax: 64 * MiB },
  // DEFAULT_ETCD_PREFIX, DEFAULT_ETCD_CALL_TIMEOUT_MS (src/stores/etcd/etcd-store.ts).
  etcd: { prefix: 'oplog', callTimeoutMs: 5_000 },
  // DEFAULT_TOPIC_PREFIX (kafka-store.ts), DEFAULT_REPLICATION_FACTOR and
  // DEFAULT_MIN_INSYNC_REPLICAS (kafka-topics.ts): 1 suits one broker; a production
  // cluster wants 3 and 2 (DESIGN.md "Operating").
  kafka: { topicPrefix: 'oplog', replicationFactor: 1, minInsyncReplicas: 1 },
};

/** Where snapshots go when neither `snapshots.dir` nor a file store is configured. */
export const DEFAULT_DATA_DIR = './data';

/** The defaults that depend on other values of the config. */
export function derivedDefaults(
  stores: readonly StoreConfig[],
  host: { readonly hostname: string; readonly pid: number },
): { readonly nodeId: string; readonly source: StoreConfig['kind']; readonly snapshotDir: string } {
  const has = (kind: StoreConfig['kind']) => stores.some((s) => s.kind === kind);
  const file = stores.find((s): s is FileStoreConfig => s.kind === 'file');
  return {
    nodeId: defaultNodeId(host.hostname, host.pid),
    // The order types.ts documents.
    source: has('kafka') ? 'kafka' : has('etcd') ? 'etcd' : 'file',
    snapshotDir: `${(file?.dataDir ?? DEFAULT_DATA_DIR).replace(/\/+$/, '')}/snapshots`,
  };
}

/**
 * `<hostname>-<pid>`, made a valid node id: characters outside `[A-Za-z0-9_.-]` become
 * `-`, runs of dots are broken, and it is cut to 128 characters.
 */
export function defaultNodeId(hostname: string, pid: number): string {
  const safe = hostname
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^A-Za-z0-9]+/, '');
  const suffix = `-${pid}`;
  return `${(safe.length > 0 ? safe : 'node').slice(0, 128 - suffix.length)}${suffix}`;
}
