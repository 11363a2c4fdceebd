/**
 * What a result is recorded with: the machine (CPU, cores, memory, Node, load), the git
 * commit of the working directory, and the versions of the servers measured.
 */
import { Etcd3 } from 'etcd3';
import { Kafka, logLevel, type ConfigResourceTypes } from 'kafkajs';
import { execFileSync } from 'node:child_process';
import { cpus, hostname, loadavg, platform, release, totalmem } from 'node:os';
import type { EtcdStoreConfig, KafkaStoreConfig } from '../config/types.js';
import type { CommitInfo } from './results.js';

export function loadAverage(): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return [one, five, fifteen];
}

export function machineBasics() {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${platform()} ${release()}`,
  };
}

/** The machine's name in a results file name: the host name, lower case, [a-z0-9-] only. */
export function machineSlug(): string {
  const slug = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug.length > 0 ? slug : 'machine';
}

/** HEAD of the git checkout in the working directory, and whether tracked files differ from it. */
export function gitCommit(cwd = process.cwd()): CommitInfo {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return { sha, dirty: status.trim().length > 0 };
  } catch {
    // Not a checkout (an installed package): the results say so rather than guess.
    return { sha: 'unknown', dirty: false };
  }
}

export async function etcdVersion(config: EtcdStoreConfig): Promise<string> {
  const client = new Etcd3({ hosts: config.hosts.map((h) => `http://${h}`) });
  try {
    return (await client.maintenance.status()).version;
  } finally {
    client.close();
  }
}

/**
 * kafkajs reports no broker release, so this is the broker's
 * `inter.broker.protocol.version` (e.g. `3.9-IV0`), which follows the release.
 */
export async function kafkaVersion(config: KafkaStoreConfig): Promise<string> {
  const admin = new Kafka({ brokers: [...config.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { brokers } = await admin.describeCluster();
    const nodeId = brokers[0]?.nodeId;
    if (nodeId === undefined) return 'unknown (no broker listed)';
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        {
          // ConfigResourceTypes.BROKER: kafkajs (CommonJS) does not export the enum to ESM.
          type: 4 as ConfigResourceTypes,
          name: String(nodeId),
          configNames: ['inter.broker.protocol.version'],
        },
      ],
    });
    const value = described.resources[0]?.configEntries[0]?.configValue;
    return value === undefined ? 'unknown' : `inter.broker.protocol.version ${value}`;
  } finally {
    await admin.disconnect();
  }
}
