/**
 * Store flags shared by the commands that read a log — which stores, where, and the
 * cluster id — and opening one store for reading. Every value is checked while the
 * flags are parsed (flags.ts); opening then checks that the log exists, the same way
 * on every store: a mistyped path, cluster id or prefix is "no such log" (exit 2),
 * never an empty log. A log that exists but holds no record yet (a writer fenced it
 * and wrote nothing) is empty, not missing.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../core/errors.js';
import { EtcdLogStore } from '../stores/etcd/etcd-store.js';
import { describeTornTail, FileLogStore } from '../stores/file/file-store.js';
import { KafkaLogStore } from '../stores/kafka/kafka-store.js';
import type { LogStore } from '../stores/log-store.js';
import { clusterIdOption, endpointsOption, pathOption } from './flags.js';

export const STORE_KINDS = ['file', 'etcd', 'kafka'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** The parsed store flags (commander's camelCase names). */
export interface StoreFlags {
  readonly dataDir?: string;
  readonly clusterId: string;
  readonly etcd?: readonly string[];
  readonly etcdPrefix?: string;
  readonly kafka?: readonly string[];
  readonly topicPrefix?: string;
}

/** Adds `--data-dir`, `--cluster-id`, `--etcd`, `--etcd-prefix`, `--kafka`, `--topic-prefix`. */
export function addStoreOptions(command: Command): Command {
  return command
    .addOption(
      pathOption('--data-dir <dir>', "the file store's data directory (it holds <cluster-id>/segments)"),
    )
    .addOption(clusterIdOption('--cluster-id <id>', 'the cluster, i.e. which log', 'demo'))
    .addOption(endpointsOption('--etcd <endpoints>', 'etcd endpoints'))
    .addOption(clusterIdOption('--etcd-prefix <prefix>', 'first segment of the etcd keys (default oplog)'))
    .addOption(endpointsOption('--kafka <brokers>', 'Kafka brokers'))
    .addOption(clusterIdOption('--topic-prefix <prefix>', 'Kafka topic name prefix (default oplog)'));
}

/**
 * Opens one store for reading (the file store as a reader: a running writer is not
 * disturbed) and checks that the cluster's log exists there. Throws InvalidInputError
 * for a missing location flag or a log that does not exist; nothing is created.
 */
export async function openStore(kind: StoreKind, flags: StoreFlags): Promise<LogStore> {
  const { clusterId } = flags;
  switch (kind) {
    case 'file': {
      const dataDir = flags.dataDir;
      if (dataDir === undefined) throw new InvalidInputError('--data-dir', 'required for the file store');
      if (!existsSync(join(dataDir, clusterId, 'segments')))
        throw new InvalidInputError('--data-dir', `no log of cluster ${clusterId} under ${dataDir}`);
      return FileLogStore.open({ dataDir, clusterId, mode: 'reader' });
    }
    case 'etcd': {
      const hosts = flags.etcd;
      if (hosts === undefined)
        throw new InvalidInputError('--etcd', 'required for the etcd store (HOST:PORT)');
      const prefix = flags.etcdPrefix;
      const store = new EtcdLogStore({ hosts, clusterId, ...(prefix === undefined ? {} : { prefix }) });
      // The first writer's fence creates the epoch key (epochs start at 1): without it
      // no writer ever started on this cluster, and there is no log to read.
      return probed(store, async () => {
        if ((await store.currentEpoch()) === 0n)
          throw new InvalidInputError(
            '--cluster-id',
            `no etcd log of cluster ${clusterId} under /${prefix ?? 'oplog'}/ at ${hosts.join(',')} (no epoch key: no writer ever started; nothing was created)`,
          );
      });
    }
    case 'kafka': {
      const brokers = flags.kafka;
      if (brokers === undefined)
        throw new InvalidInputError('--kafka', 'required for the Kafka store (HOST:PORT)');
      const topicPrefix = flags.topicPrefix;
      const store = new KafkaLogStore({
        brokers,
        clusterId,
        createTopics: false,
        ...(topicPrefix === undefined ? {} : { topicPrefix }),
      });
      // Without createTopics, the first call checks that the topics exist (InvalidInputError).
      return probed(store, async () => {
        await store.currentEpoch();
      });
    }
  }
}

async function probed(store: LogStore, check: () => Promise<void>): Promise<LogStore> {
  try {
    await check();
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** The stores whose location flags were given (`--data-dir`, `--etcd`, `--kafka`). */
export function givenStores(flags: StoreFlags): StoreKind[] {
  const kinds: StoreKind[] = [];
  if (flags.dataDir !== undefined) kinds.push('file');
  if (flags.etcd !== undefined) kinds.push('etcd');
  if (flags.kafka !== undefined) kinds.push('kafka');
  return kinds;
}

/**
 * What a file store's open found about its tail, one line each: a torn tail past the
 * recovery point that a reader left in place (the next writer start cuts it), and every
 * cut an earlier writer made (from its cut log). Empty for other stores and clean logs.
 */
export function recoveryFindings(store: LogStore): string[] {
  if (!(store instanceof FileLogStore)) return [];
  const { tornTail, recoveryPoint, cuts } = store.recovery;
  const findings = cuts.map(
    (cut) =>
      `${describeTornTail(cut, cut.recoveryPointSeq === undefined ? undefined : { lastSeq: cut.recoveryPointSeq })} at ${cut.atIso} (another store, if configured, gave them back at that writer start)`,
  );
  if (tornTail !== undefined)
    findings.push(`${describeTornTail(tornTail, recoveryPoint)}; the next writer start cuts it`);
  return findings;
}

/** Where a read of `store` ends early, and why, when the file log has a torn tail. */
export function stopReason(store: LogStore): string | undefined {
  if (!(store instanceof FileLogStore)) return undefined;
  const { tornTail, recoveryPoint } = store.recovery;
  if (tornTail === undefined) return undefined;
  return `the log ends at seq ${tornTail.fromSeq - 1n}: ${describeTornTail(tornTail, recoveryPoint)}`;
}
