/** The public API of oplog. Everything importable is exported from here. */
export * from './core/errors.js';
export * from './core/types.js';
export * from './core/limits.js';
export {
  NO_LOGGER,
  NO_METRICS,
  type Counter,
  type Gauge,
  type Histogram,
  type Labels,
  type Logger,
  type Metrics,
} from './core/telemetry.js';
export {
  FoldingLogger,
  foldKey,
  DEFAULT_WARNING_INTERVAL_MS,
  FOLD_IDENTITY_FIELDS,
  FOLD_KEYS_MAX,
  type FoldedSummary,
  type FoldingOptions,
} from './core/warning-folder.js';
export { validateClusterId } from './core/cluster-id.js';
export {
  loadConfig,
  readConfigFile,
  CONFIG_FILE_BYTES_MAX,
  type ConfigInput,
  type LoadConfigInput,
  type StoreInput,
} from './config/config.js';
export { InvalidConfigError, type ConfigProblem } from './config/config-error.js';
export { DEFAULT_CONFIG, DEFAULT_STORE_OPTIONS, type ConfigDefaults } from './config/defaults.js';
export { ENV_VARS, CONFIG_FILE_ENV, type Env } from './config/env.js';
export { parseStoreUrl } from './config/store-url.js';
export { readSecret, SECRET_BYTES_MAX, type ReadSecretOptions } from './config/secret.js';
export type * from './config/types.js';
export type { Compression, CodecId } from './core/compression.js';
export { CODEC_NONE, CODEC_ZSTD } from './core/compression.js';
export { validateOp, entryChecksum, type EntryFields } from './core/entry-codec.js';
export {
  encodeRecord,
  decodeRecord,
  decodeVerifiedRecord,
  verifyRecord,
  parseRecordHeader,
  FORMAT_VERSION,
  HEADER_BYTES,
  type BatchRecord,
  type VerifiedRecord,
  type RecordHeader,
} from './core/record-codec.js';
export { loadZstd, nativeZstd, wasmZstd } from './compression/zstd.js';
export type { LogStore, Subscription, SubscriptionEvent, Visibility } from './stores/log-store.js';
export { MemoryLogStore } from './stores/memory-store.js';
export {
  FileLogStore,
  describeTornTail,
  type ByteRange,
  type CutRecord,
  type FileRecoveryReport,
  type FileStoreOptions,
  type RecordCheck,
  type RecoveryPoint,
  type TornTail,
} from './stores/file/file-store.js';
export { EtcdLogStore, type EtcdStoreOptions } from './stores/etcd/etcd-store.js';
export { KafkaLogStore, type KafkaStoreOptions } from './stores/kafka/kafka-store.js';
export {
  PrimaryWriter,
  DEFAULT_PLANNER_LIMITS,
  type PrimaryWriterOptions,
} from './primary/primary-writer.js';
export {
  Standby,
  DEFAULT_APPLIER_CONFIG,
  type SnapshotPolicy,
  type SnapshotSink,
  type StandbyOptions,
  type StandbyStatus,
} from './standby/standby.js';
export type {
  StandbyEventMap,
  StandbyEventName,
  StandbyEvents,
  StandbyListener,
  StandbyLoop,
} from './standby/standby-events.js';
export type { PromotedWriter, WriterFactory, WriterStartOptions } from './standby/writer-port.js';
export type { Election } from './stores/election.js';
export { EtcdElection, type EtcdElectionOptions } from './stores/etcd/election.js';
export { AutoFailover, type AutoFailoverOptions, type AutoFailoverStatus } from './node/auto-failover.js';
export { OplogNode, type NodeOptions } from './node/node.js';
export type { NodeRole, NodeState, NodeStatus } from './node/node-status.js';
export type { NodeEventMap, NodeEventName, NodeEvents, NodeListener } from './node/node-events.js';
export type { TypedEvents } from './core/event-hub.js';
export {
  primaryWriterFactory,
  startPrimaryWriter,
  type PrimaryWriterSettings,
} from './node/primary-writer-factory.js';
export { KvStateMachine, type StateImage, type StateMachine } from './snapshot/state-machine.js';
export {
  FileSnapshotStore,
  parseManifest,
  SNAPSHOT_RAW_BYTES_MAX,
  type Snapshot,
  type SnapshotInput,
  type SnapshotManifest,
} from './snapshot/snapshot-store.js';
export { replay, type ReplayOptions, type ReplayResult } from './snapshot/replay.js';
export { truncateToSnapshot } from './snapshot/retention.js';
export { STANDBY_STATES, STANDBY_EVENTS, type StandbyState } from './core/standby-state.js';
export {
  StandbyCore,
  type LifecycleChange,
  type StandbyDelivery,
  type StandbyOutput,
  type StandbyStart,
} from './core/standby-core.js';
export {
  OplogClient,
  OplogHttpError,
  AppendOutcomeUnknownError,
  type OplogClientOptions,
  type AppendResult,
  type ReadResult,
  type WatchedEntry,
  type WatchOptions,
} from './client/oplog-client.js';
export { OplogService, type ServiceDeps } from './server/service.js';
export type { OplogConfig, StoreConfig, ServeRole } from './config/types.js';
