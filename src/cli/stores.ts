/**
 * Store flags shared by the commands that read a log: which stores, where, and the
 * cluster id (validated by each store before any path, key or topic is built).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { validateClusterId } from '../core/cluster-id.js';
import { InvalidInputError } from '../core/errors.js';
import { EtcdLogStore } from '../stores/etcd/etcd-store.js';
import { FileLogStore } from '../stores/file/file-store.js';
import { KafkaLogStore } from '../stores/kafka/kafka-store.js';
import type { LogStore } from '../stores/log-store.js';

export const STORE_OPTIONS = {
  'data-dir': { type: 'string' },
  'cluster-id': { type: 'string', default: 'demo' },
  etcd: { type: 'string' },
  'etcd-prefix': { type: 'string' },
  kafka: { type: 'string' },
  'topic-prefix': { type: 'string' },
} as const;

export type StoreKind = 'file' | 'etcd' | 'kafka';
type Values = Readonly<Record<string, string | boolean | undefined>>;

function text(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Opens one store for reading (the file store as a reader: a running writer is not disturbed). */
export async function openStore(kind: string, values: Values): Promise<LogStore> {
  const clusterId = text(values, 'cluster-id') ?? 'demo';
  switch (kind) {
    case 'file': {
      const dataDir = text(values, 'data-dir');
      if (dataDir === undefined) throw new InvalidInputError('--data-dir', 'required for the file store');
      // A mistyped path or cluster id must not read as an empty log.
      if (!existsSync(join(dataDir, validateClusterId(clusterId), 'segments')))
        throw new InvalidInputError('--data-dir', `no log of cluster ${clusterId} under ${dataDir}`);
      return FileLogStore.open({ dataDir, clusterId, mode: 'reader' });
    }
    case 'etcd': {
      const hosts = text(values, 'etcd');
      if (hosts === undefined)
        throw new InvalidInputError('--etcd', 'required for the etcd store (host:port)');
      const prefix = text(values, 'etcd-prefix');
      return new EtcdLogStore({ hosts, clusterId, ...(prefix === undefined ? {} : { prefix }) });
    }
    case 'kafka': {
      const brokers = text(values, 'kafka');
      if (brokers === undefined)
        throw new InvalidInputError('--kafka', 'required for the Kafka store (host:port)');
      const topicPrefix = text(values, 'topic-prefix');
      return new KafkaLogStore({
        brokers,
        clusterId,
        createTopics: false,
        ...(topicPrefix === undefined ? {} : { topicPrefix }),
      });
    }
    default:
      throw new InvalidInputError('--store', `must be file, etcd or kafka, not ${JSON.stringify(kind)}`);
  }
}

/** The stores whose location flags were given (`--data-dir`, `--etcd`, `--kafka`). */
export function givenStores(values: Values): StoreKind[] {
  const kinds: StoreKind[] = [];
  if (text(values, 'data-dir') !== undefined) kinds.push('file');
  if (text(values, 'etcd') !== undefined) kinds.push('etcd');
  if (text(values, 'kafka') !== undefined) kinds.push('kafka');
  return kinds;
}
