/**
 * Replay into a fresh node from etcd or Kafka. The log (the same workload as the file
 * case of the same length) is written with the PrimaryWriter to a cluster of its own;
 * then a fresh store client is made, as a fresh node makes one (`oplog replay`'s: Kafka
 * without creating topics), and, on it, the decode-only pass (read, verify, decode,
 * nothing applied: the baseline) and the replay into an empty KvStateMachine are timed
 * (replay-passes.ts). Each row also carries its entries/s over the file store's at the
 * same length in the same run. The case's keys or topics are removed after.
 *
 * Size limits: every record the writer cuts is at most RECORD_BYTES_MAX (900 KiB),
 * under etcd's default request limit (1.5 MiB) and Kafka's default message size
 * (1 MB), whatever the log's length. The whole log must also fit in etcd's backend,
 * whose quota (`--quota-backend-bytes`, default 2 GiB) a client cannot read: a case
 * whose estimated growth would take the backend past the default quota is left out
 * with a note rather than risk etcd's NOSPACE alarm, which makes the whole server
 * refuse writes until an operator disarms it. Kafka's topics have no size bound by
 * default (`retention.bytes` −1).
 *
 * A Kafka read joins a consumer group of its own (kafkajs has no manual assignment), so
 * each pass pays a group join: on a broker with the default
 * `group.initial.rebalance.delay.ms` (3 s) that is 3 s more per pass than on the test
 * brokers (0), which the short logs' rows show most.
 */
import { Etcd3 } from 'etcd3';
import type { EtcdStoreConfig, StoreConfig } from '../../config/types.js';
import { EtcdLogStore } from '../../stores/etcd/etcd-store.js';
import { KafkaLogStore } from '../../stores/kafka/kafka-store.js';
import type { LogStore } from '../../stores/log-store.js';
import { FIXED_VALUE_BYTES, type BenchPlan } from '../plan.js';
import { ratio, type ReplayRow } from '../results.js';
import { openSetup, type Setup } from '../targets.js';
import type { Workload } from '../workload.js';
import { timePasses, writeLog } from './replay-passes.js';

/** etcd's default `--quota-backend-bytes`. */
export const ETCD_DEFAULT_QUOTA_BYTES = 2 * 1024 ** 3;
/**
 * etcd's backend growth per byte of log, assumed before writing: each record is one
 * key revision plus the head keys' revisions, in bbolt pages. Measured 1.03 at 100k and
 * 1.04 at 1M entries (etcd 3.4.23, status dbSize before and after); 2 leaves room.
 */
export const ETCD_BACKEND_BYTES_PER_LOG_BYTE = 2;

export interface NetworkedCase {
  readonly entries: number;
  readonly workload: Workload;
  /** The file store's row at the same length, this run: the size estimate and the ratio. */
  readonly fileRow: ReplayRow;
}

export type NetworkedOutcome = { readonly row: ReplayRow } | { readonly note: string };

/** One networked replay case (`setup` is `etcd` or `kafka`), or why it was left out. */
export async function networkedReplayCase(
  plan: BenchPlan,
  setup: Setup,
  { entries, workload, fileRow }: NetworkedCase,
): Promise<NetworkedOutcome> {
  const config = setup.stores[0];
  if (setup.stores.length !== 1 || config === undefined || config.kind === 'file')
    throw new Error(`replay bench: ${setup.name} is not one networked store`);
  let dbBytesBefore: number | undefined;
  if (config.kind === 'etcd') {
    dbBytesBefore = await etcdDbBytes(config);
    const note = etcdQuotaNote(entries, fileRow.logBytes, dbBytesBefore);
    if (note !== undefined) return { note };
  }
  const opened = await openSetup(setup, plan.ids.take(`replay-${setup.name}-${entries}`));
  try {
    await writeLog(plan, opened.stores, entries, workload);
    const dbBytesAdded =
      dbBytesBefore === undefined || config.kind !== 'etcd'
        ? undefined
        : (await etcdDbBytes(config)) - dbBytesBefore;
    return { row: await measure(plan, config, opened.clusterId, { entries, fileRow, dbBytesAdded }) };
  } finally {
    await opened.dispose();
  }
}

/**
 * Why a case of `entries` entries cannot be written to etcd, or undefined when it
 * can: its estimated backend growth (from the file log of the same length) on top of
 * the backend's size now, against the default quota.
 */
export function etcdQuotaNote(entries: number, fileLogBytes: number, dbBytes: number): string | undefined {
  const estimate = fileLogBytes * ETCD_BACKEND_BYTES_PER_LOG_BYTE;
  if (dbBytes + estimate <= ETCD_DEFAULT_QUOTA_BYTES) return undefined;
  const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;
  return `replay etcd ${entries} entries: left out, the log (${mb(fileLogBytes)} as a file, about ${mb(estimate)} in etcd's backend) would take the backend from ${mb(dbBytes)} past etcd's default quota of ${mb(ETCD_DEFAULT_QUOTA_BYTES)} (a client cannot read the server's --quota-backend-bytes; deleted keys stay until compacted and defragmented)`;
}

async function measure(
  plan: BenchPlan,
  config: Exclude<StoreConfig, { kind: 'file' }>,
  clusterId: string,
  {
    entries,
    fileRow,
    dbBytesAdded,
  }: { entries: number; fileRow: ReplayRow; dbBytesAdded: number | undefined },
): Promise<ReplayRow> {
  const t0 = performance.now();
  const store = freshReader(config, clusterId);
  try {
    await store.head();
    const openSeconds = (performance.now() - t0) / 1000;
    const passes = await timePasses(plan, store, entries);
    const replayEntriesPerS = entries / passes.replaySeconds;
    const decodeOnlyEntriesPerS = entries / passes.decodeSeconds;
    return {
      store: config.kind,
      entries,
      valueBytes: FIXED_VALUE_BYTES,
      logBytes: passes.recordBytes,
      openSeconds,
      replaySeconds: passes.replaySeconds,
      stateHashSeconds: passes.stateHashSeconds,
      replayEntriesPerS,
      decodeOnlyEntriesPerS,
      replayOverDecodeOnly: ratio(replayEntriesPerS, decodeOnlyEntriesPerS),
      replayOverFile: ratio(replayEntriesPerS, fileRow.replayEntriesPerS),
      ...(dbBytesAdded === undefined ? {} : { etcdDbBytesAdded: dbBytesAdded }),
    };
  } finally {
    await store.close();
  }
}

/** A store client of its own, as a fresh node opens one for reading (creating nothing). */
function freshReader(config: Exclude<StoreConfig, { kind: 'file' }>, clusterId: string): LogStore {
  return config.kind === 'etcd'
    ? new EtcdLogStore({
        hosts: config.hosts,
        clusterId,
        prefix: config.prefix,
        callTimeoutMs: config.callTimeoutMs,
      })
    : new KafkaLogStore({
        brokers: config.brokers,
        clusterId,
        topicPrefix: config.topicPrefix,
        createTopics: false,
      });
}

/** The etcd backend's allocated size (status dbSize) on the member the client asked. */
async function etcdDbBytes(config: EtcdStoreConfig): Promise<number> {
  const client = new Etcd3({ hosts: config.hosts.map((h) => `http://${h}`) });
  try {
    return Number((await client.maintenance.status()).dbSize);
  } finally {
    client.close();
  }
}
