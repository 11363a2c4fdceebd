/**
 * The rules JSON Schema cannot say, checked on the effective config (defaults filled)
 * after it validated: relations between fields, and bounds that come from the wire
 * format (src/core/limits.ts) rather than from a number written in the schema. Each
 * broken rule is one problem naming the field, the value and the rule.
 */
import {
  APPEND_VALUE_BYTES_MAX,
  BATCH_BYTES_MAX,
  KEY_BYTES_MAX,
  RECORD_BYTES_MAX,
  RECORD_ENTRIES_MAX,
  TYPE_BYTES_MAX,
} from '../core/limits.js';
import type { ConfigProblem } from './config-error.js';
import type { OplogConfig } from './types.js';

/** Kafka refuses topic names longer than this. */
export const KAFKA_TOPIC_CHARS_MAX = 249;

/**
 * The smallest body limit that admits one largest append: the value in base64, the key
 * and type as JSON strings at their worst (every character escaped as `\uXXXX`), and
 * room for the surrounding JSON.
 */
export const BODY_LIMIT_BYTES_MIN =
  4 * Math.ceil(APPEND_VALUE_BYTES_MAX / 3) + 6 * KEY_BYTES_MAX + 6 * TYPE_BYTES_MAX + 256;

type Check = (config: OplogConfig, problems: ConfigProblem[]) => void;

const writerFitsRecords: Check = ({ writer }, problems) => {
  if (writer.batchBytesMax > BATCH_BYTES_MAX)
    problems.push({
      field: 'writer.batchBytesMax',
      value: writer.batchBytesMax,
      rule: `must be at most ${BATCH_BYTES_MAX} (BATCH_BYTES_MAX), so that every batch encodes under the ${RECORD_BYTES_MAX}-byte record cap`,
    });
  if (writer.batchEntriesMax > RECORD_ENTRIES_MAX)
    problems.push({
      field: 'writer.batchEntriesMax',
      value: writer.batchEntriesMax,
      rule: `must be at most ${RECORD_ENTRIES_MAX} (RECORD_ENTRIES_MAX): readers refuse records with more entries`,
    });
  if (writer.retryDelayMs > writer.retryDelayMaxMs)
    problems.push({
      field: 'writer.retryDelayMs',
      value: writer.retryDelayMs,
      rule: `must be at most writer.retryDelayMaxMs (${writer.retryDelayMaxMs})`,
    });
};

const applierTimings: Check = ({ standby: { applier } }, problems) => {
  if (applier.skipTimeoutMs <= applier.gapRequestDelayMs)
    problems.push({
      field: 'standby.applier.skipTimeoutMs',
      value: applier.skipTimeoutMs,
      rule: `must be more than standby.applier.gapRequestDelayMs (${applier.gapRequestDelayMs}): a gap is fetched before it is given up`,
    });
  if (applier.fetchBackoffMs > applier.fetchBackoffMaxMs)
    problems.push({
      field: 'standby.applier.fetchBackoffMs',
      value: applier.fetchBackoffMs,
      rule: `must be at most standby.applier.fetchBackoffMaxMs (${applier.fetchBackoffMaxMs})`,
    });
};

const storesAndSource: Check = ({ stores, source, role, clusterId }, problems) => {
  const kinds = stores.map((store) => store.kind);
  kinds.forEach((kind, index) => {
    if (kinds.indexOf(kind) !== index)
      problems.push({
        field: `stores[${index}].kind`,
        value: kind,
        rule: `at most one store of each kind: stores[${kinds.indexOf(kind)}] is ${kind} too`,
      });
  });
  if (!kinds.includes(source))
    problems.push({
      field: 'source',
      value: source,
      rule: `must be the kind of a configured store (configured: ${kinds.join(', ') || 'none'})`,
    });
  if (role === 'auto' && !kinds.includes('etcd'))
    problems.push({
      field: 'role',
      value: role,
      rule: 'auto needs an etcd store: the election is an etcd lease (add --store etcd://HOST:PORT)',
    });
  stores.forEach((store, index) => {
    if (store.kind !== 'kafka') return;
    const longest = `${store.topicPrefix}.${clusterId}.epoch`;
    if (longest.length > KAFKA_TOPIC_CHARS_MAX)
      problems.push({
        field: `stores[${index}].topicPrefix`,
        value: store.topicPrefix,
        rule: `with clusterId it makes the topic ${longest.length} characters long (${longest.slice(0, 40)}…); Kafka allows ${KAFKA_TOPIC_CHARS_MAX}`,
      });
    const replicas = store.replicationFactor;
    if (replicas !== undefined && store.minInsyncReplicas !== undefined && store.minInsyncReplicas > replicas)
      problems.push({
        field: `stores[${index}].minInsyncReplicas`,
        value: store.minInsyncReplicas,
        rule: `must be at most replicationFactor (${replicas}): no write could ever be acknowledged`,
      });
  });
};

const snapshotsApart: Check = ({ stores, snapshots, clusterId }, problems) => {
  // The file store owns <dataDir>/<clusterId>/; snapshots there would mix with its files.
  stores.forEach((store) => {
    if (store.kind !== 'file') return;
    const logDir = normalize(`${store.dataDir}/${clusterId}`);
    const dir = normalize(snapshots.dir);
    if (dir === logDir || dir.startsWith(`${logDir}/`))
      problems.push({
        field: 'snapshots.dir',
        value: snapshots.dir,
        rule: `must not be inside the file store's log directory ${logDir}: choose another snapshots.dir (or cluster id)`,
      });
  });
};

const serverLimits: Check = ({ server }, problems) => {
  if (server.bodyLimitBytes < BODY_LIMIT_BYTES_MIN)
    problems.push({
      field: 'server.bodyLimitBytes',
      value: server.bodyLimitBytes,
      rule: `must be at least ${BODY_LIMIT_BYTES_MIN}: one append of the largest value (${APPEND_VALUE_BYTES_MAX} bytes, APPEND_VALUE_BYTES_MAX) in base64 must fit`,
    });
};

const CHECKS: readonly Check[] = [
  writerFitsRecords,
  applierTimings,
  storesAndSource,
  snapshotsApart,
  serverLimits,
];

/** Every cross-field rule `config` breaks. */
export function crossFieldProblems(config: OplogConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const check of CHECKS) check(config, problems);
  return problems;
}

/** A path with `.` segments, empty segments and trailing slashes removed; `..` kept. */
function normalize(path: string): string {
  const absolute = path.startsWith('/');
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  const joined = parts.join('/');
  return absolute ? `/${joined}` : joined;
}
