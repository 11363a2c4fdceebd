/**
 * The effective configuration of one node (DESIGN.md "Interfaces"): what
 * `loadConfig` (config.ts) returns after merging the file, `OPLOG_*` variables and
 * flags over the defaults, validating against schemas/config.schema.json and checking
 * the cross-field rules. Property names are the option names in code (PlannerLimits,
 * ApplierConfig, AutoFailoverOptions, the store options), so a section passes through
 * as it is. Secrets are never values here: only paths of files that hold them
 * (`passwordFile`, `tokenFile`, `keyFile`), read when the node starts.
 */

export type ServeRole = 'primary' | 'standby' | 'auto';

/** TLS material for a client connection (etcd, Kafka) as files: CA, client cert and key. */
export interface TlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface FileStoreConfig {
  readonly kind: 'file';
  /** Holds `<clusterId>/segments`, the epoch file and the recovery point. */
  readonly dataDir: string;
  readonly segmentBytesMax?: number;
}

export interface EtcdStoreConfig {
  readonly kind: 'etcd';
  /** `host:port` each; several for a cluster. */
  readonly hosts: readonly string[];
  readonly prefix: string;
  readonly callTimeoutMs: number;
  readonly tls?: TlsFiles;
  readonly auth?: { readonly username: string; readonly passwordFile: string };
}

export interface KafkaStoreConfig {
  readonly kind: 'kafka';
  /** `host:port` each. */
  readonly brokers: readonly string[];
  readonly topicPrefix: string;
  /** Of the topics the store creates (KafkaStoreOptions); loadConfig fills 1 and 1. */
  readonly replicationFactor?: number;
  /** At most `replicationFactor`. */
  readonly minInsyncReplicas?: number;
  readonly tls?: TlsFiles;
  readonly sasl?: {
    readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    readonly username: string;
    readonly passwordFile: string;
  };
}

export type StoreConfig = FileStoreConfig | EtcdStoreConfig | KafkaStoreConfig;
export type StoreKind = StoreConfig['kind'];

export interface OplogConfig {
  readonly clusterId: string;
  readonly role: ServeRole;
  /** This node's name in the election, logs and status. Default `<hostname>-<pid>`. */
  readonly nodeId: string;
  /** At most one of each kind; the writer fences and writes all of them. */
  readonly stores: readonly StoreConfig[];
  /**
   * The store a standby follows; gaps and corrupt records are fetched from another one.
   * Default: kafka if configured, else etcd, else file.
   */
  readonly source: StoreKind;
  /** PlannerLimits plus the writer's retry delays. */
  readonly writer: {
    readonly batchEntriesMax: number;
    readonly batchBytesMax: number;
    readonly lingerMs: number;
    readonly pipelineDepth: number;
    readonly runAheadBytesMax: number;
    readonly queueEntriesMax: number;
    readonly queueBytesMax: number;
    readonly retryDelayMs: number;
    readonly retryDelayMaxMs: number;
  };
  readonly standby: {
    /** ApplierConfig. */
    readonly applier: {
      readonly pendingEntriesMax: number;
      readonly pendingBytesMax: number;
      readonly gapRequestDelayMs: number;
      readonly skipTimeoutMs: number;
      readonly fetchBackoffMs: number;
      readonly fetchBackoffMaxMs: number;
      readonly skipPolicy: 'halt' | 'skip';
      readonly fetchRangesPerTickMax: number;
      readonly skippedRangesMax: number;
    };
    readonly tickMs: number;
    /** /readyz: a standby is ready while watching within this lag. */
    readonly maxLagMs: number;
  };
  readonly snapshots: {
    /** Where this node keeps (and installs) snapshots. Default `<first file dataDir or ./data>/snapshots`. */
    readonly dir: string;
    /** Take one every this many applied entries; 0: never. */
    readonly everyEntries: number;
    readonly keep: number;
  };
  readonly failover: {
    /** etcd lease of the leader key, seconds; role `auto` needs an etcd store. */
    readonly leaseTtlS: number;
    readonly baseDelayMs: number;
    readonly lagDelayMsPerEntry: number;
    readonly retryMs: number;
  };
  readonly checkpoints: {
    /** The primary appends a `checkpoint` entry every this many entries; 0: never. */
    readonly everyEntries: number;
  };
  readonly bootstrap: {
    /** A peer's base URL (`http://h:p`) whose `GET /v1/snapshot` an empty standby installs. */
    readonly peer?: string;
  };
  readonly server: {
    /** `HOST:PORT` of the HTTP listener. */
    readonly http: string;
    readonly bodyLimitBytes: number;
    /** Longest a causal read waits for `minSeq` before its 503. */
    readonly readWaitMsMax: number;
    /** Entries a watch stream may hold unsent before the consumer is cut. */
    readonly watchBufferEntries: number;
    /** HTTPS when both are set. */
    readonly tls?: { readonly certFile: string; readonly keyFile: string };
  };
  readonly auth: {
    /** A file holding the bearer token that guards mutating endpoints and snapshots. */
    readonly tokenFile?: string;
  };
  readonly logging: {
    readonly level: 'debug' | 'info' | 'warn' | 'error' | 'silent';
    /** Human-readable lines (pino-pretty) for a person at a terminal, instead of JSON. */
    readonly pretty: boolean;
    /**
     * A repeated warning is logged at most once per this many ms; the next line says
     * how many were folded (src/core/warning-folder.ts). 0: every warning is logged.
     */
    readonly warningIntervalMs: number;
  };
}
