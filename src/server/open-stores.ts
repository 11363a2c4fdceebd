/**
 * The stores of one served node, opened from its config: the one it follows (the
 * source), the one it fetches gaps and corrupt records from, and the handles a
 * promotion writes through. The file store is opened as a reader for following (a
 * writer elsewhere is not disturbed) and as a writer only when this node promotes, at
 * which point it takes the directory's lock. etcd and Kafka handles serve both.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  EtcdStoreConfig,
  KafkaStoreConfig,
  OplogConfig,
  StoreConfig,
  StoreKind,
  TlsFiles,
} from '../config/types.js';
import { InvalidConfigError } from '../config/config-error.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/telemetry.js';
import { EtcdLogStore } from '../stores/etcd/etcd-store.js';
import { FileLogStore, type FileStoreWarn } from '../stores/file/file-store.js';
import { KafkaLogStore } from '../stores/kafka/kafka-store.js';
import type { LogStore } from '../stores/log-store.js';

export interface NodeStores {
  readonly source: LogStore;
  readonly fetch: LogStore;
  /** Every configured store by kind, as followed (for status heads). */
  readonly byKind: ReadonlyMap<StoreKind, LogStore>;
  readonly etcd: EtcdLogStore | undefined;
  /** The writer handles of every store; the file store's is opened (and locked) on first call. */
  promotionStores(): Promise<readonly LogStore[]>;
  close(): Promise<void>;
}

/** Files of TLS material and passwords, read when the node starts (config.ts readSecret). */
export type SecretReader = (path: string) => Promise<string>;

/** `logger` gets the file store's warnings (a torn tail cut when this node promotes), with their seqs. */
export async function openNodeStores(
  config: OplogConfig,
  readSecret: SecretReader,
  logger: Logger,
): Promise<NodeStores> {
  const warn: FileStoreWarn = (message, seqs) =>
    logger.warn(
      seqs === undefined
        ? { store: 'file' }
        : { store: 'file', fromSeq: seqs.fromSeq.toString(), toSeq: seqs.toSeq.toString() },
      message,
    );
  const byKind = new Map<StoreKind, LogStore>();
  const opened: LogStore[] = [];
  let fileWriter: FileLogStore | undefined;
  let fileConfig: Extract<StoreConfig, { kind: 'file' }> | undefined;
  try {
    for (const store of config.stores) {
      let handle: LogStore;
      switch (store.kind) {
        case 'file':
          fileConfig = store;
          await mkdir(join(store.dataDir, config.clusterId, 'segments'), { recursive: true });
          handle = await FileLogStore.open({
            dataDir: store.dataDir,
            clusterId: config.clusterId,
            mode: 'reader',
            pollIntervalMs: 20,
            warn,
            ...(store.segmentBytesMax === undefined ? {} : { segmentBytesMax: store.segmentBytesMax }),
          });
          break;
        case 'etcd':
          handle = new EtcdLogStore(await etcdOptions(store, config.clusterId, readSecret));
          break;
        case 'kafka':
          handle = new KafkaLogStore(await kafkaOptions(store, config.clusterId, readSecret));
          break;
      }
      opened.push(handle);
      byKind.set(store.kind, handle);
    }
  } catch (error) {
    await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
    throw error;
  }
  const source = byKind.get(config.source)!;
  const fetch = [...byKind.values()].find((s) => s !== source) ?? source;
  return {
    source,
    fetch,
    byKind,
    etcd: byKind.get('etcd') as EtcdLogStore | undefined,
    async promotionStores() {
      const stores: LogStore[] = [];
      for (const [kind, store] of byKind) {
        if (kind !== 'file') {
          stores.push(store);
          continue;
        }
        fileWriter ??= await FileLogStore.open({
          dataDir: fileConfig!.dataDir,
          clusterId: config.clusterId,
          warn,
          ...(fileConfig!.segmentBytesMax === undefined
            ? {}
            : { segmentBytesMax: fileConfig!.segmentBytesMax }),
        });
        stores.push(fileWriter);
      }
      return stores;
    },
    async close() {
      await Promise.all(
        [...opened, ...(fileWriter === undefined ? [] : [fileWriter])].map((s) =>
          s.close().catch(() => undefined),
        ),
      );
    },
  };
}

async function etcdOptions(store: EtcdStoreConfig, clusterId: string, readSecret: SecretReader) {
  const auth = store.auth;
  const tls = store.tls === undefined ? undefined : await readTls(store.tls, 'stores.etcd.tls', readSecret);
  return {
    hosts: store.hosts,
    clusterId,
    prefix: store.prefix,
    callTimeoutMs: store.callTimeoutMs,
    ...(tls === undefined ? {} : { tls: { ...tls, ca: tls.ca ?? requireCa() } }),
    ...(auth === undefined
      ? {}
      : { auth: { username: auth.username, password: await readSecret(auth.passwordFile) } }),
  };
}

async function kafkaOptions(store: KafkaStoreConfig, clusterId: string, readSecret: SecretReader) {
  const sasl = store.sasl;
  const tls = store.tls === undefined ? undefined : await readTls(store.tls, 'stores.kafka.tls', readSecret);
  return {
    brokers: store.brokers,
    clusterId,
    topicPrefix: store.topicPrefix,
    ...(store.replicationFactor === undefined ? {} : { replicationFactor: store.replicationFactor }),
    ...(store.minInsyncReplicas === undefined ? {} : { minInsyncReplicas: store.minInsyncReplicas }),
    ...(tls === undefined ? {} : { tls }),
    ...(sasl === undefined
      ? {}
      : {
          sasl: {
            mechanism: sasl.mechanism,
            username: sasl.username,
            password: await readSecret(sasl.passwordFile),
          },
        }),
  };
}

/**
 * The TLS files' contents, PEM bytes each. The key is a secret (read as one); the CA
 * and the certificate are public and may be far larger than a secret may be (a
 * system CA bundle is ~200 KiB), so they are read with a bound of their own.
 */
async function readTls(tls: TlsFiles, field: string, readSecret: SecretReader) {
  const [ca, cert, key] = await Promise.all([
    tls.caFile === undefined ? undefined : readCertificates(tls.caFile, `${field}.caFile`),
    tls.certFile === undefined ? undefined : readCertificates(tls.certFile, `${field}.certFile`),
    tls.keyFile === undefined ? undefined : Buffer.from(await readSecret(tls.keyFile)),
  ]);
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
}

/** Largest CA bundle or certificate chain read. */
export const CERTIFICATE_FILE_BYTES_MAX = 4 * 1024 * 1024;

/** A PEM file of certificates; InvalidConfigError naming `field` and the path when it cannot be. */
async function readCertificates(path: string, field: string): Promise<Buffer> {
  const refuse = (rule: string, cause?: unknown): never => {
    throw new InvalidConfigError([{ field, value: path, rule }], { cause });
  };
  try {
    const info = await stat(path);
    if (!info.isFile()) refuse('must be a regular file of PEM certificates');
    if (info.size > CERTIFICATE_FILE_BYTES_MAX)
      refuse(`is ${info.size} bytes; a certificate file is at most ${CERTIFICATE_FILE_BYTES_MAX}`);
    const pem = await readFile(path);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) refuse('holds no PEM certificate');
    return pem;
  } catch (error) {
    if (error instanceof InvalidConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    return refuse(code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`, error);
  }
}

/** etcd's gRPC client needs the CA to speak TLS at all. */
function requireCa(): never {
  throw new ConfigError(
    'stores.etcd.tls.caFile',
    undefined,
    'etcd over TLS needs the CA that signed its certificate',
  );
}
