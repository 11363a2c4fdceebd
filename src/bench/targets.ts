/**
 * What a bench writes to: a *setup* is one store, or etcd + Kafka together, as given on
 * the command line. Each case opens fresh stores under a cluster id of its own (so no
 * case reads another's log) and removes what it wrote when it is done: the file store's
 * directory, the etcd keys under the cluster, the Kafka topics. Deleted etcd keys stay
 * in etcd's history until it is compacted (and its file shrinks only on defrag): a long
 * bench against a small --quota-backend-bytes can fill it.
 */
import { Etcd3 } from 'etcd3';
import { Kafka, logLevel } from 'kafkajs';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdStoreConfig, KafkaStoreConfig, StoreConfig } from '../config/types.js';
import { EtcdLogStore } from '../stores/etcd/etcd-store.js';
import { FileLogStore } from '../stores/file/file-store.js';
import { KafkaLogStore } from '../stores/kafka/kafka-store.js';
import type { LogStore } from '../stores/log-store.js';

/** A setup's name in the results: `file`, `etcd`, `kafka` or `etcd+kafka`. */
export type SetupName = 'file' | 'etcd' | 'kafka' | 'etcd+kafka';

export interface Setup {
  readonly name: SetupName;
  readonly stores: readonly StoreConfig[];
}

/** Stores opened for one case, and how to close them and remove what they hold. */
export interface OpenedStores {
  readonly stores: LogStore[];
  readonly clusterId: string;
  /** Closes the stores and deletes the case's data. */
  dispose(): Promise<void>;
}

/**
 * The setups measured for the given stores: each one alone, and etcd + Kafka together
 * when both are given (the writer appends to both in parallel).
 */
/** Where a setup's file store (if any) keeps its data: the scratch dir for file-based baselines. */
export function fileDirOf(setup: Setup): string | undefined {
  const file = setup.stores.find((s) => s.kind === 'file');
  return file?.kind === 'file' ? file.dataDir : undefined;
}

export function setupsFor(stores: readonly StoreConfig[]): Setup[] {
  const setups: Setup[] = stores.map((store) => ({ name: store.kind, stores: [store] }));
  const etcd = stores.find((s) => s.kind === 'etcd');
  const kafka = stores.find((s) => s.kind === 'kafka');
  if (etcd !== undefined && kafka !== undefined) setups.push({ name: 'etcd+kafka', stores: [etcd, kafka] });
  return setups;
}

/** Hands out cluster ids unique to this run: `bench-<run tag>-<n>`. */
export class ClusterIds {
  private next = 0;
  constructor(private readonly runTag: string) {}
  take(label: string): string {
    return `bench-${this.runTag}-${this.next++}-${label}`.slice(0, 120);
  }
}

/** Opens every store of `setup` under `clusterId`; a file store in a fresh dir under its dataDir. */
export async function openSetup(setup: Setup, clusterId: string): Promise<OpenedStores> {
  const opened: { store: LogStore; remove: () => Promise<void> }[] = [];
  try {
    for (const config of setup.stores) opened.push(await openOne(config, clusterId));
  } catch (error) {
    for (const { store, remove } of opened) await store.close().finally(remove);
    throw error;
  }
  return {
    stores: opened.map((o) => o.store),
    clusterId,
    async dispose() {
      for (const { store, remove } of opened) {
        await store.close();
        await remove();
      }
    },
  };
}

async function openOne(
  config: StoreConfig,
  clusterId: string,
): Promise<{ store: LogStore; remove: () => Promise<void> }> {
  switch (config.kind) {
    case 'file': {
      const dataDir = mkdtempSync(join(config.dataDir, 'oplog-bench-'));
      const store = await FileLogStore.open({ dataDir, clusterId });
      return { store, remove: async () => rmSync(dataDir, { recursive: true, force: true }) };
    }
    case 'etcd':
      return {
        store: new EtcdLogStore({ hosts: config.hosts, clusterId, prefix: config.prefix }),
        remove: () => removeEtcdCluster(config, clusterId),
      };
    case 'kafka':
      return {
        store: new KafkaLogStore({ brokers: config.brokers, clusterId, topicPrefix: config.topicPrefix }),
        remove: () =>
          removeKafkaTopics(config, [
            `${config.topicPrefix}.${clusterId}`,
            `${config.topicPrefix}.${clusterId}.epoch`,
          ]),
      };
  }
}

/** Deletes every key of the cluster (the log, head and epoch keys). */
export async function removeEtcdCluster(config: EtcdStoreConfig, clusterId: string): Promise<void> {
  await removeEtcdPrefix(config, `/${config.prefix}/${clusterId}/`);
}

export async function removeEtcdPrefix(config: EtcdStoreConfig, prefix: string): Promise<void> {
  const client = new Etcd3({ hosts: config.hosts.map((h) => `http://${h}`) });
  try {
    await client.delete().prefix(prefix);
  } finally {
    client.close();
  }
}

export async function removeKafkaTopics(config: KafkaStoreConfig, topics: readonly string[]): Promise<void> {
  const admin = new Kafka({ brokers: [...config.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
}
