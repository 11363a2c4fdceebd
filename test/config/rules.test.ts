/**
 * The cross-field rules (src/config/rules.ts), one by one: each is met by the
 * defaults, each broken value is refused with the field, the value and a rule that
 * names what it must relate to, and values at the boundary pass.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfigInput } from '../../src/config/config.js';
import { BODY_LIMIT_BYTES_MIN, KAFKA_TOPIC_CHARS_MAX } from '../../src/config/rules.js';
import { APPEND_VALUE_BYTES_MAX, BATCH_BYTES_MAX, RECORD_ENTRIES_MAX } from '../../src/core/limits.js';
import { problemOf } from './problems.js';

const host = { hostname: 'box', pid: 1 };
const file = { kind: 'file', dataDir: './d' } as const;
const etcd = { kind: 'etcd', hosts: ['e:2379'] } as const;
const kafka = { kind: 'kafka', brokers: ['k:9092'] } as const;
const load = (flags: ConfigInput) =>
  loadConfig({ env: {}, host, flags: { clusterId: 'c', stores: [file], ...flags } });

describe('the standby applier', () => {
  it('skipTimeoutMs must exceed gapRequestDelayMs', () => {
    expect(
      problemOf(() => load({ standby: { applier: { gapRequestDelayMs: 500, skipTimeoutMs: 500 } } })),
    ).toEqual({
      field: 'standby.applier.skipTimeoutMs',
      value: 500,
      rule: 'must be more than standby.applier.gapRequestDelayMs (500): a gap is fetched before it is given up (set by a flag)',
    });
    // Against a default: the rule names the default's value.
    expect(problemOf(() => load({ standby: { applier: { skipTimeoutMs: 200 } } })).rule).toMatch(
      /gapRequestDelayMs \(200\)/,
    );
    expect(
      load({ standby: { applier: { gapRequestDelayMs: 500, skipTimeoutMs: 501 } } }).standby.applier
        .skipTimeoutMs,
    ).toBe(501);
  });

  it('fetchBackoffMs at most fetchBackoffMaxMs', () => {
    expect(problemOf(() => load({ standby: { applier: { fetchBackoffMs: 6000 } } }))).toMatchObject({
      field: 'standby.applier.fetchBackoffMs',
      value: 6000,
      rule: expect.stringMatching(/^must be at most standby.applier.fetchBackoffMaxMs \(5000\)/),
    });
  });
});

describe('the writer against the record format', () => {
  it(`batchBytesMax at most BATCH_BYTES_MAX (${BATCH_BYTES_MAX}), under the record cap`, () => {
    expect(problemOf(() => load({ writer: { batchBytesMax: BATCH_BYTES_MAX + 1 } }))).toMatchObject({
      field: 'writer.batchBytesMax',
      value: BATCH_BYTES_MAX + 1,
      rule: expect.stringMatching(
        /^must be at most 921543 \(BATCH_BYTES_MAX\), so that every batch encodes under the 921600-byte record cap/,
      ),
    });
    expect(load({ writer: { batchBytesMax: BATCH_BYTES_MAX } }).writer.batchBytesMax).toBe(BATCH_BYTES_MAX);
  });

  it(`batchEntriesMax at most RECORD_ENTRIES_MAX (${RECORD_ENTRIES_MAX})`, () => {
    expect(problemOf(() => load({ writer: { batchEntriesMax: RECORD_ENTRIES_MAX + 1 } })).field).toBe(
      'writer.batchEntriesMax',
    );
    expect(load({ writer: { batchEntriesMax: RECORD_ENTRIES_MAX } }).writer.batchEntriesMax).toBe(
      RECORD_ENTRIES_MAX,
    );
  });

  it('retryDelayMs at most retryDelayMaxMs', () => {
    expect(problemOf(() => load({ writer: { retryDelayMs: 50, retryDelayMaxMs: 40 } }))).toMatchObject({
      field: 'writer.retryDelayMs',
      value: 50,
    });
  });
});

describe('stores, source and role', () => {
  it('at most one store of each kind', () => {
    expect(problemOf(() => load({ stores: [file, etcd, { kind: 'file', dataDir: './e' }] }))).toEqual({
      field: 'stores[2].kind',
      value: 'file',
      rule: 'at most one store of each kind: stores[0] is file too (set by a flag)',
    });
  });

  it('source must be the kind of a configured store', () => {
    expect(problemOf(() => load({ stores: [file, etcd], source: 'kafka' }))).toEqual({
      field: 'source',
      value: 'kafka',
      rule: 'must be the kind of a configured store (configured: file, etcd) (set by a flag)',
    });
    expect(load({ stores: [file, etcd], source: 'file' }).source).toBe('file');
  });

  it('role auto needs an etcd store (the election is an etcd lease)', () => {
    expect(problemOf(() => load({ role: 'auto', stores: [file, kafka] }))).toMatchObject({
      field: 'role',
      value: 'auto',
      rule: expect.stringMatching(/^auto needs an etcd store/),
    });
    expect(load({ role: 'auto', stores: [etcd] }).role).toBe('auto');
  });

  it(`Kafka topic names stay within ${KAFKA_TOPIC_CHARS_MAX} characters`, () => {
    const clusterId = 'c'.repeat(128);
    // <prefix>.<cluster>.epoch: 114 + 1 + 128 + 6 = 249 fits, one more does not.
    expect(() => load({ clusterId, stores: [{ ...kafka, topicPrefix: 'p'.repeat(114) }] })).not.toThrow();
    expect(
      problemOf(() => load({ clusterId, stores: [{ ...kafka, topicPrefix: 'p'.repeat(115) }] })),
    ).toMatchObject({
      field: 'stores[0].topicPrefix',
      rule: expect.stringMatching(/250 characters long .*Kafka allows 249/),
    });
  });

  it('minInsyncReplicas at most replicationFactor', () => {
    expect(
      problemOf(() => load({ stores: [{ ...kafka, replicationFactor: 2, minInsyncReplicas: 3 }] })),
    ).toMatchObject({
      field: 'stores[0].minInsyncReplicas',
      value: 3,
      rule: expect.stringMatching(/^must be at most replicationFactor \(2\)/),
    });
  });
});

describe('snapshots and checkpoints', () => {
  it("snapshots.dir may not be inside the file store's log directory", () => {
    for (const dir of ['./d/c', 'd/c/', './d/./c/snapshots'])
      expect(
        problemOf(() => load({ snapshots: { dir } })),
        dir,
      ).toMatchObject({
        field: 'snapshots.dir',
        value: dir,
        rule: expect.stringMatching(/^must not be inside the file store's log directory d\/c/),
      });
    // The default is beside the log, and a cluster named "snapshots" would collide with it.
    expect(load({}).snapshots.dir).toBe('./d/snapshots');
    expect(problemOf(() => load({ clusterId: 'snapshots' })).field).toBe('snapshots.dir');
  });

  it('bounds: 0 means never; keep at least 1', () => {
    const config = load({ snapshots: { everyEntries: 0 }, checkpoints: { everyEntries: 0 } });
    expect([config.snapshots.everyEntries, config.checkpoints.everyEntries]).toEqual([0, 0]);
    expect(problemOf(() => load({ snapshots: { keep: 0 } }))).toMatchObject({
      field: 'snapshots.keep',
      value: 0,
    });
    expect(problemOf(() => load({ checkpoints: { everyEntries: -1 } })).field).toBe(
      'checkpoints.everyEntries',
    );
  });
});

describe('failover lease', () => {
  it('leaseTtlS: whole seconds in [1, 600], what etcd can grant', () => {
    for (const leaseTtlS of [0, 0.5, 601, 2 ** 40])
      expect(
        problemOf(() => load({ failover: { leaseTtlS } })),
        String(leaseTtlS),
      ).toMatchObject({
        field: 'failover.leaseTtlS',
        value: leaseTtlS,
        rule: expect.stringMatching(/^must be an integer in \[1, 600\]/),
      });
    expect(load({ failover: { leaseTtlS: 1 } }).failover.leaseTtlS).toBe(1);
  });
});

describe('the server', () => {
  it(`bodyLimitBytes admits one largest append (${APPEND_VALUE_BYTES_MAX}-byte value in base64)`, () => {
    expect(BODY_LIMIT_BYTES_MIN).toBeGreaterThan((APPEND_VALUE_BYTES_MAX * 4) / 3);
    expect(problemOf(() => load({ server: { bodyLimitBytes: BODY_LIMIT_BYTES_MIN - 1 } }))).toMatchObject({
      field: 'server.bodyLimitBytes',
      rule: expect.stringMatching(/^must be at least \d+: one append of the largest value/),
    });
    expect(load({ server: { bodyLimitBytes: BODY_LIMIT_BYTES_MIN } }).server.bodyLimitBytes).toBe(
      BODY_LIMIT_BYTES_MIN,
    );
  });

  it('tls: both certFile and keyFile, or neither', () => {
    expect(
      problemOf(() =>
        loadConfig({ env: { OPLOG_TLS_KEY_FILE: '/k' }, host, flags: { clusterId: 'c', stores: [file] } }),
      ),
    ).toEqual({
      field: 'server.tls.certFile',
      value: undefined,
      rule: 'is required (HTTPS: both certFile and keyFile, or no tls at all) (set by OPLOG_TLS_KEY_FILE)',
    });
    expect(load({ server: { tls: { certFile: '/c', keyFile: '/k' } } }).server.tls).toEqual({
      certFile: '/c',
      keyFile: '/k',
    });
    expect(load({}).server.tls).toBeUndefined();
  });

  it('client TLS for a store: certFile and keyFile together; caFile alone is fine', () => {
    expect(problemOf(() => load({ stores: [{ ...etcd, tls: { certFile: '/c' } }] }))).toMatchObject({
      field: 'stores[0].tls.keyFile',
      rule: expect.stringMatching(/^is required when certFile is set/),
    });
    expect(load({ stores: [{ ...etcd, tls: { caFile: '/ca' } }] }).stores[0]).toMatchObject({
      tls: { caFile: '/ca' },
    });
  });
});
