/**
 * loadConfig merges defaults ← file ← OPLOG_* ← flags (later wins, lists replaced
 * whole), refuses unknown fields anywhere (the file, a section, a store, `__proto__`),
 * names the field, the value, the rule and the source of every problem, reads only
 * the `env` it is given, and returns a frozen config.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_FILE_BYTES_MAX, loadConfig, type LoadConfigInput } from '../../src/config/config.js';
import { problemOf, problemsOf } from './problems.js';

const dir = mkdtempSync(join(tmpdir(), 'oplog-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const host = { hostname: 'box', pid: 1 };

let files = 0;
/** Writes `content` (JSON unless a string) to a new file and returns its path. */
function file(content: unknown): string {
  const path = join(dir, `config-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const load = (input: Partial<LoadConfigInput>) => loadConfig({ env: {}, host, ...input });
const minimal = { clusterId: 'c', stores: [{ kind: 'file', dataDir: './d' }] };

describe('precedence: defaults ← file ← OPLOG_* ← flags', () => {
  const path = file({
    ...minimal,
    role: 'primary',
    nodeId: 'from-file',
    writer: { lingerMs: 7, pipelineDepth: 2 },
    server: { http: '127.0.0.1:1001', readWaitMsMax: 1 },
  });

  it('the file over the defaults, key by key within a section', () => {
    const config = load({ file: path });
    expect(config).toMatchObject({ role: 'primary', nodeId: 'from-file' });
    expect(config.writer).toMatchObject({ lingerMs: 7, pipelineDepth: 2, batchEntriesMax: 1024 });
    expect(config.server).toMatchObject({
      http: '127.0.0.1:1001',
      readWaitMsMax: 1,
      bodyLimitBytes: 8 * 1024 * 1024,
    });
  });

  it('OPLOG_* over the file; flags over both', () => {
    const env = { OPLOG_ROLE: 'auto', OPLOG_HTTP: '127.0.0.1:1002', OPLOG_STORES: 'file:./e etcd://e:1' };
    const fromEnv = load({ file: path, env });
    expect(fromEnv).toMatchObject({ role: 'auto', nodeId: 'from-file', server: { http: '127.0.0.1:1002' } });
    const fromFlags = load({
      file: path,
      env,
      flags: { role: 'standby', server: { http: '127.0.0.1:1003' } },
    });
    expect(fromFlags).toMatchObject({
      role: 'standby',
      server: { http: '127.0.0.1:1003', readWaitMsMax: 1 },
    });
    expect(fromFlags.writer.lingerMs).toBe(7);
  });

  it('a later list of stores replaces the earlier one whole', () => {
    const fileStores = load({ file: path }).stores.map((s) => s.kind);
    const envStores = load({ file: path, env: { OPLOG_STORES: 'etcd://e:1 kafka://k:1' } }).stores.map(
      (s) => s.kind,
    );
    const flagStores = load({
      file: path,
      env: { OPLOG_STORES: 'etcd://e:1 kafka://k:1' },
      flags: { stores: [{ kind: 'file', dataDir: './f' }] },
    }).stores;
    expect(fileStores).toEqual(['file']);
    expect(envStores).toEqual(['etcd', 'kafka']);
    expect(flagStores).toEqual([{ kind: 'file', dataDir: './f', segmentBytesMax: 64 * 1024 * 1024 }]);
  });

  it('an empty variable is unset; OPLOG_* names that are not config are ignored', () => {
    const config = load({ file: path, env: { OPLOG_ROLE: '', OPLOG_TEST_ETCD: 'x', OPLOG_BOGUS: 'y' } });
    expect(config.role).toBe('primary');
  });

  it('every documented variable sets its field', () => {
    const config = load({
      env: {
        OPLOG_CLUSTER_ID: 'env-c',
        OPLOG_ROLE: 'auto',
        OPLOG_NODE_ID: 'n1',
        OPLOG_STORES: ' file:/f\n\tetcd://e:1  ',
        OPLOG_SOURCE: 'file',
        OPLOG_HTTP: '[::1]:0',
        OPLOG_TLS_CERT_FILE: '/c.pem',
        OPLOG_TLS_KEY_FILE: '/k.pem',
        OPLOG_PEER: 'https://peer:8080',
        OPLOG_SNAPSHOT_DIR: '/snaps',
        OPLOG_AUTH_TOKEN_FILE: '/token',
        OPLOG_LOG_LEVEL: 'debug',
        OPLOG_LOG_PRETTY: 'yes',
      },
    });
    expect(config).toMatchObject({
      clusterId: 'env-c',
      role: 'auto',
      nodeId: 'n1',
      stores: [
        { kind: 'file', dataDir: '/f' },
        { kind: 'etcd', hosts: ['e:1'] },
      ],
      source: 'file',
      server: { http: '[::1]:0', tls: { certFile: '/c.pem', keyFile: '/k.pem' } },
      bootstrap: { peer: 'https://peer:8080' },
      snapshots: { dir: '/snaps' },
      auth: { tokenFile: '/token' },
      logging: { level: 'debug', pretty: true },
    });
  });

  it('reads only the env it is given, never process.env', () => {
    process.env['OPLOG_ROLE'] = 'primary';
    try {
      expect(load({ flags: minimal as never }).role).toBe('standby');
    } finally {
      delete process.env['OPLOG_ROLE'];
    }
  });

  it('returns a frozen config: nothing after loading can change it', () => {
    const config = load({ file: path });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.writer)).toBe(true);
    expect(Object.isFrozen(config.stores[0])).toBe(true);
    expect(() => ((config.writer as { lingerMs: number }).lingerMs = 1)).toThrow(TypeError);
  });
});

describe('unknown fields are refused, wherever they are', () => {
  it.each([
    [
      { ...minimal, verbose: true },
      'verbose',
      /^unknown field; the config takes clusterId, role, nodeId, stores,/,
    ],
    [{ ...minimal, writer: { linger: 5 } }, 'writer.linger', /^unknown field; writer takes batchEntriesMax,/],
    [
      { ...minimal, standby: { applier: { skipTimeout: 1 } } },
      'standby.applier.skipTimeout',
      /applier takes/,
    ],
    [
      { clusterId: 'c', stores: [{ kind: 'etcd', endpoints: ['h:1'], hosts: ['h:1'] }] },
      'stores[0].endpoints',
      /takes kind, hosts, prefix/,
    ],
    [
      { ...minimal, server: { tls: { certFile: 'c', keyFile: 'k', caFile: 'a' } } },
      'server.tls.caFile',
      /takes certFile, keyFile/,
    ],
    [{ ...minimal, auth: { token: 'secret' } }, 'auth.token', /auth takes tokenFile/],
  ])('%j: %s', (content, field, rule) => {
    const path = file(content);
    const problem = problemOf(() => load({ file: path }));
    expect(problem.field).toBe(field);
    expect(problem.rule).toMatch(rule);
    expect(problem.rule).toContain(`(in ${path})`);
  });

  it('a __proto__ key is a field like any other, refused, and pollutes nothing', () => {
    const path = file(
      `{"clusterId":"c","stores":[{"kind":"file","dataDir":"d"}],"__proto__":{"role":"primary"},"writer":{"__proto__":{"polluted":1}}}`,
    );
    const problems = problemsOf(() => load({ file: path }));
    expect(problems.map((p) => p.field)).toEqual(['__proto__', 'writer.__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['role']).toBeUndefined();
  });
});

describe('every problem names the field, the value, the rule and where it came from', () => {
  it('all problems at once, each with its source', () => {
    const path = file({
      clusterId: 'a/b',
      stores: [{ kind: 'file', dataDir: 'd' }],
      writer: { lingerMs: 1.5 },
    });
    const problems = problemsOf(() =>
      load({
        file: path,
        env: { OPLOG_ROLE: 'leader' },
        flags: { logging: { level: 'loud' as never } },
        flagNames: { 'logging.level': '--log-level' },
      }),
    );
    expect(problems).toEqual([
      {
        field: 'clusterId',
        value: 'a/b',
        rule: expect.stringMatching(/^must be a name matching .* \(in .*config-\d+\.json\)$/),
      },
      { field: 'role', value: 'leader', rule: 'must be one of primary, standby, auto (set by OPLOG_ROLE)' },
      {
        field: 'writer.lingerMs',
        value: 1.5,
        rule: expect.stringMatching(/^must be an integer in \[0, 60000\]: .*\(in .*\)$/),
      },
      {
        field: 'logging.level',
        value: 'loud',
        rule: 'must be one of debug, info, warn, error, silent (set by --log-level)',
      },
    ]);
  });

  it('the message lists them one a line, values cut short', () => {
    const path = file({ clusterId: 'x'.repeat(5000), stores: [{ kind: 'file', dataDir: 'd' }], role: 'r' });
    let message = '';
    try {
      load({ file: path });
    } catch (error) {
      message = (error as Error).message;
    }
    const lines = message.split('\n');
    expect(lines[0]).toBe('config has 2 problems:');
    expect(lines[1]).toMatch(/^ {2}clusterId="x{199}… \(5002 chars\): must be a name/);
    expect(lines[2]).toMatch(/^ {2}role="r": must be one of primary, standby, auto/);
  });

  it('missing cluster id and stores say how to give them', () => {
    expect(problemsOf(() => load({}))).toEqual([
      {
        field: 'clusterId',
        value: undefined,
        rule: expect.stringContaining('give --cluster ID, OPLOG_CLUSTER_ID or "clusterId"'),
      },
      {
        field: 'stores',
        value: undefined,
        rule: expect.stringContaining('give --store URL, OPLOG_STORES or "stores"'),
      },
    ]);
  });

  it('a bad variable names the variable', () => {
    expect(problemOf(() => load({ env: { OPLOG_LOG_PRETTY: 'maybe' } }))).toEqual({
      field: 'OPLOG_LOG_PRETTY',
      value: 'maybe',
      rule: 'must be one of true, 1, yes, on, false, 0, no, off',
    });
    expect(
      problemsOf(() => load({ env: { OPLOG_STORES: 'file: etcd://a:1,,b:2' } })).map((p) => p.rule),
    ).toEqual([
      'file: needs a directory, e.g. file:./data',
      'host 2 is empty; hosts are separated by single commas',
    ]);
  });

  it('type errors name the expected type', () => {
    const problems = problemsOf(() =>
      load({ flags: { ...minimal, writer: 5, logging: { pretty: 'yes' } } as never }),
    );
    expect(problems.map(({ field, rule }) => [field, rule])).toEqual([
      ['writer', 'must be an object (set by a flag)'],
      ['logging.pretty', 'must be a boolean (set by a flag)'],
    ]);
  });
});

describe('the config file', () => {
  it.each([
    ['missing', () => join(dir, 'nope.json'), 'does not exist'],
    ['a directory', () => dir, 'must be a regular file'],
    ['a device', () => '/dev/zero', 'must be a regular file'],
    ['not JSON', () => file('{"clusterId": "c",'), /^is not JSON: /],
    ['a JSON array', () => file([minimal]), /^must hold a JSON object/],
    ['JSON null', () => file('null'), /^must hold a JSON object/],
    [
      'too large',
      () => file(`{"clusterId":"${'x'.repeat(CONFIG_FILE_BYTES_MAX)}"}`),
      /^is \d+ bytes; a config file is at most 1048576$/,
    ],
  ])('%s: named by its path', (_what, make, rule) => {
    const path = make();
    const problem = problemOf(() => load({ file: path }));
    expect(problem.field).toBe('file');
    expect(problem.value).toBe(path);
    expect(problem.rule).toMatch(rule);
  });

  // root reads any file whatever its mode, so there the case cannot be made.
  it.skipIf(process.getuid?.() === 0)('unreadable: EACCES, not "does not exist"', () => {
    const path = file(minimal);
    chmodSync(path, 0o000);
    expect(problemOf(() => load({ file: path })).rule).toBe('cannot be read (EACCES)');
  });
});
