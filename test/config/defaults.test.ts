/**
 * Every default in src/config/defaults.ts equals the constant the code itself falls
 * back to (src/config may not import those modules, so it copies them; this is what
 * keeps the copy honest), the defaults satisfy the schema, and the derived defaults
 * (nodeId, source, snapshots.dir) follow their documented rules.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONFIG,
  DEFAULT_STORE_OPTIONS,
  defaultNodeId,
  derivedDefaults,
} from '../../src/config/defaults.js';
import { loadConfig } from '../../src/config/config.js';
import { schemaProblems } from '../../src/config/schema.js';
import type { StoreConfig } from '../../src/config/types.js';
import { DEFAULT_WARNING_INTERVAL_MS } from '../../src/core/warning-folder.js';
import { DEFAULT_AUTO_FAILOVER } from '../../src/node/auto-failover.js';
import {
  DEFAULT_PLANNER_LIMITS,
  DEFAULT_RETRY_DELAY_MAX_MS,
  DEFAULT_RETRY_DELAY_MS,
} from '../../src/primary/primary-writer.js';
import { DEFAULT_SNAPSHOT_KEEP } from '../../src/standby/snapshot-policy.js';
import { DEFAULT_APPLIER_CONFIG, DEFAULT_TICK_MS } from '../../src/standby/standby-options.js';
import { DEFAULT_ETCD_CALL_TIMEOUT_MS, DEFAULT_ETCD_PREFIX } from '../../src/stores/etcd/etcd-store.js';
import { DEFAULT_SEGMENT_BYTES_MAX } from '../../src/stores/file/file-store.js';
import { DEFAULT_TOPIC_PREFIX } from '../../src/stores/kafka/kafka-store.js';
import {
  DEFAULT_MIN_INSYNC_REPLICAS,
  DEFAULT_REPLICATION_FACTOR,
} from '../../src/stores/kafka/kafka-topics.js';

const host = { hostname: 'box', pid: 42 };

describe('defaults equal the code they configure', () => {
  it('writer: DEFAULT_PLANNER_LIMITS and the retry delays', () => {
    expect(DEFAULT_CONFIG.writer).toEqual({
      ...DEFAULT_PLANNER_LIMITS,
      retryDelayMs: DEFAULT_RETRY_DELAY_MS,
      retryDelayMaxMs: DEFAULT_RETRY_DELAY_MAX_MS,
    });
  });

  it('standby: DEFAULT_APPLIER_CONFIG and the tick', () => {
    expect(DEFAULT_CONFIG.standby.applier).toEqual(DEFAULT_APPLIER_CONFIG);
    expect(DEFAULT_CONFIG.standby.tickMs).toBe(DEFAULT_TICK_MS);
  });

  it('failover: the auto-failover delays; snapshots: the policy keep', () => {
    const { leaseTtlS, ...delays } = DEFAULT_CONFIG.failover;
    expect(delays).toEqual(DEFAULT_AUTO_FAILOVER);
    expect(leaseTtlS).toBeGreaterThanOrEqual(1);
    expect(DEFAULT_CONFIG.snapshots.keep).toBe(DEFAULT_SNAPSHOT_KEEP);
  });

  it("logging: the warning folder's interval (the standby's too), JSON at info", () => {
    expect(DEFAULT_CONFIG.logging).toEqual({
      level: 'info',
      pretty: false,
      warningIntervalMs: DEFAULT_WARNING_INTERVAL_MS,
    });
  });

  it("stores: each adapter's own fallbacks", () => {
    expect(DEFAULT_STORE_OPTIONS).toEqual({
      file: { segmentBytesMax: DEFAULT_SEGMENT_BYTES_MAX },
      etcd: { prefix: DEFAULT_ETCD_PREFIX, callTimeoutMs: DEFAULT_ETCD_CALL_TIMEOUT_MS },
      kafka: {
        topicPrefix: DEFAULT_TOPIC_PREFIX,
        replicationFactor: DEFAULT_REPLICATION_FACTOR,
        minInsyncReplicas: DEFAULT_MIN_INSYNC_REPLICAS,
      },
    });
  });
});

describe('the defaults as a whole', () => {
  it('with a cluster id and a store they are a valid config, and loadConfig returns exactly them', () => {
    const stores: StoreConfig[] = [{ kind: 'file', dataDir: './data', ...DEFAULT_STORE_OPTIONS.file }];
    const expected = {
      clusterId: 'c',
      nodeId: 'box-42',
      stores,
      source: 'file',
      ...DEFAULT_CONFIG,
      snapshots: { dir: './data/snapshots', ...DEFAULT_CONFIG.snapshots },
    };
    expect(schemaProblems(expected)).toEqual([]);
    const loaded = loadConfig({ env: { OPLOG_CLUSTER_ID: 'c', OPLOG_STORES: 'file:./data' }, host });
    expect(loaded).toEqual(expected);
  });
});

describe('derived defaults', () => {
  const file: StoreConfig = { kind: 'file', dataDir: '/var/lib/oplog/' };
  const etcd: StoreConfig = { kind: 'etcd', hosts: ['e:2379'], prefix: 'oplog', callTimeoutMs: 5000 };
  const kafka: StoreConfig = { kind: 'kafka', brokers: ['k:9092'], topicPrefix: 'oplog' };

  it('source: kafka if configured, else etcd, else file', () => {
    expect(derivedDefaults([file, etcd, kafka], host).source).toBe('kafka');
    expect(derivedDefaults([file, etcd], host).source).toBe('etcd');
    expect(derivedDefaults([file], host).source).toBe('file');
  });

  it("snapshots.dir: under the file store's dataDir, else ./data", () => {
    expect(derivedDefaults([etcd, file], host).snapshotDir).toBe('/var/lib/oplog/snapshots');
    expect(derivedDefaults([etcd], host).snapshotDir).toBe('./data/snapshots');
    expect(derivedDefaults([{ kind: 'file', dataDir: '/' }], host).snapshotDir).toBe('/snapshots');
  });

  it('nodeId: <hostname>-<pid>, made a valid name whatever the hostname', () => {
    expect(defaultNodeId('db-1.example.com', 7)).toBe('db-1.example.com-7');
    expect(defaultNodeId('weird host/1', 7)).toBe('weird-host-1-7');
    expect(defaultNodeId('..', 7)).toBe('node-7');
    expect(defaultNodeId('a..b', 7)).toBe('a.b-7');
    expect(defaultNodeId('', 7)).toBe('node-7');
    const long = defaultNodeId('h'.repeat(300), 123456);
    expect(long).toHaveLength(128);
    expect(long.endsWith('-123456')).toBe(true);
    for (const id of [long, defaultNodeId('ünïcode', 1), defaultNodeId('-lead', 1)])
      expect(schemaProblems({ clusterId: 'c', stores: [file], nodeId: id }), id).toEqual([]);
  });
});
