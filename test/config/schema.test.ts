/**
 * schemas/config.schema.json is strict and complete: every object refuses unknown
 * fields, every number has finite bounds, every string a bound or a pattern; its
 * address patterns are the ones the store URL parser uses; its property names are
 * exactly those of the effective config (src/config/types.ts), section by section; and
 * its names refuse what validateClusterId refuses.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ENDPOINT_PATTERN, HTTP_URL_PATTERN, LISTEN_PATTERN } from '../../src/config/endpoint.js';
import { CONFIG_SCHEMA, pointerToField, schemaProblems } from '../../src/config/schema.js';
import { validateClusterId } from '../../src/core/cluster-id.js';

type Node = Record<string, unknown>;
const schema = CONFIG_SCHEMA as Node;
const defs = schema['$defs'] as Record<string, Node>;

/** Every subschema with its location. */
function* walk(node: unknown, at: string): Generator<[string, Node]> {
  if (typeof node !== 'object' || node === null) return;
  if (Array.isArray(node)) {
    for (const [i, child] of node.entries()) yield* walk(child, `${at}/${i}`);
    return;
  }
  yield [at, node as Node];
  for (const [key, child] of Object.entries(node)) {
    if (key === 'enum' || key === 'const' || key === 'required') continue;
    yield* walk(child, `${at}/${key}`);
  }
}

function resolve(node: Node): Node {
  const ref = node['$ref'];
  return typeof ref === 'string' ? resolve(defs[ref.replace('#/$defs/', '')]!) : node;
}

describe('the schema is strict', () => {
  it('every object with properties refuses unknown fields', () => {
    const objects = [...walk(schema, '#')].filter(([, n]) => n['properties'] !== undefined);
    expect(objects.length).toBeGreaterThan(15);
    for (const [at, node] of objects) expect(node['additionalProperties'], at).toBe(false);
  });

  it('every number has a finite minimum and maximum', () => {
    const numbers = [...walk(schema, '#')].filter(
      ([, n]) => n['type'] === 'integer' || n['type'] === 'number',
    );
    expect(numbers.length).toBeGreaterThan(30);
    for (const [at, node] of numbers) {
      expect(Number.isFinite(node['minimum']), at).toBe(true);
      expect(Number.isFinite(node['maximum']), at).toBe(true);
      expect(Number.isSafeInteger(node['maximum']), at).toBe(true);
    }
  });

  it('every string is bounded: a length, a pattern or a choice', () => {
    for (const [at, node] of walk(schema, '#')) {
      if (node['type'] !== 'string') continue;
      const bounded = node['maxLength'] !== undefined || typeof node['pattern'] === 'string';
      expect(bounded, at).toBe(true);
    }
  });

  it('uses the address patterns of src/config/endpoint.ts and the cluster id pattern', () => {
    expect(defs['endpoint']!['pattern']).toBe(ENDPOINT_PATTERN);
    expect(defs['httpUrl']!['pattern']).toBe(HTTP_URL_PATTERN);
    const server = (schema['properties'] as Record<string, Node>)['server']!;
    expect((server['properties'] as Record<string, Node>)['http']!['pattern']).toBe(LISTEN_PATTERN);
    expect(defs['name']!['pattern']).toBe('^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$');
  });
});

describe('the schema is complete for OplogConfig', () => {
  /** The keys of `value` and of `node`, recursively, with the differences. */
  function compare(value: unknown, node: Node, at: string): void {
    const target = resolve(node);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    const properties = target['properties'] as Record<string, Node> | undefined;
    expect(properties, at).toBeDefined();
    for (const [key, child] of Object.entries(value)) {
      expect(properties![key], `${at}.${key} is in OplogConfig but not in the schema`).toBeDefined();
      compare(child, properties![key]!, `${at}.${key}`);
    }
  }

  it('every field of a full effective config (all optional fields set) is in the schema', () => {
    const full = loadConfig({
      env: {},
      host: { hostname: 'h', pid: 1 },
      flags: {
        clusterId: 'c',
        stores: [{ kind: 'file', dataDir: '/d' }],
        bootstrap: { peer: 'http://p:1' },
        server: { tls: { certFile: 'c', keyFile: 'k' } },
        auth: { tokenFile: 't' },
      },
    });
    compare(full, schema, 'config');
    const storeSchemas = { file: defs['fileStore']!, etcd: defs['etcdStore']!, kafka: defs['kafkaStore']! };
    const stores = [
      { kind: 'file', dataDir: '/d', segmentBytesMax: 1 << 20 },
      {
        kind: 'etcd',
        hosts: ['e:1'],
        prefix: 'p',
        callTimeoutMs: 100,
        tls: { caFile: 'a', certFile: 'c', keyFile: 'k' },
        auth: { username: 'u', passwordFile: 'pw' },
      },
      {
        kind: 'kafka',
        brokers: ['k:1'],
        topicPrefix: 't',
        replicationFactor: 3,
        minInsyncReplicas: 2,
        tls: { caFile: 'a' },
        sasl: { mechanism: 'scram-sha-512', username: 'u', passwordFile: 'pw' },
      },
    ] as const;
    for (const store of stores) compare(store, storeSchemas[store.kind], `stores.${store.kind}`);
    expect(schemaProblems({ clusterId: 'c', stores })).toEqual([]);
  });

  it('the schema has no field OplogConfig lacks (each top-level section is in the effective config)', () => {
    const full = loadConfig({ env: {}, flags: { clusterId: 'c', stores: [{ kind: 'file', dataDir: 'd' }] } });
    expect(Object.keys(schema['properties'] as Node).sort()).toEqual(Object.keys(full).sort());
  });
});

describe('names (clusterId, nodeId, prefixes) refuse what validateClusterId refuses', () => {
  it.each([
    'ok',
    'a.b-c_d',
    'A'.repeat(128),
    '../x',
    'a/b',
    '',
    '..',
    'a..b',
    '.hidden',
    'x'.repeat(129),
    'a b',
  ])('%j', (name) => {
    let valid = true;
    try {
      validateClusterId(name);
    } catch {
      valid = false;
    }
    const problems = schemaProblems({
      clusterId: name,
      stores: [{ kind: 'etcd', hosts: ['h:1'], prefix: name }],
    });
    expect(problems.map((p) => p.field)).toEqual(valid ? [] : ['clusterId', 'stores[0].prefix']);
  });
});

describe('addresses', () => {
  const endpoints = {
    valid: [
      'localhost:2379',
      'a.b.c:1',
      '10.0.0.1:65535',
      '[::1]:2379',
      '[fe80::1%eth0]:1'.replace('%eth0', ''),
    ],
    invalid: [
      'h',
      'h:',
      ':1',
      'h:0',
      'h:65536',
      'h:99999999999999999999',
      'h:01',
      '999.1.1.1:80',
      '1.2.3:4',
      '01.2.3.4:5',
      '-h:1',
      'h-:1',
      'a..b:1',
      'a b:1',
      `${'x'.repeat(254)}:1`,
      'http://h:1',
    ],
  };
  it.each(endpoints.valid)('store host %j is accepted', (host) => {
    expect(schemaProblems({ clusterId: 'c', stores: [{ kind: 'kafka', brokers: [host] }] })).toEqual([]);
  });
  it.each(endpoints.invalid)('store host %j is refused, naming the field', (host) => {
    const problems = schemaProblems({ clusterId: 'c', stores: [{ kind: 'kafka', brokers: [host] }] });
    expect(problems).toEqual([
      {
        field: 'stores[0].brokers[0]',
        value: host,
        rule: 'must be HOST:PORT (a host name, IPv4 or [IPv6] address, and a port in [1, 65535])',
      },
    ]);
  });

  it('the HTTP listener takes port 0 (a free port); a peer URL takes http(s), a host and a port only', () => {
    const base = { clusterId: 'c', stores: [{ kind: 'file', dataDir: 'd' }] };
    expect(schemaProblems({ ...base, server: { http: '127.0.0.1:0' } })).toEqual([]);
    expect(schemaProblems({ ...base, server: { http: '0.0.0.0:65536' } })).toHaveLength(1);
    for (const peer of ['http://p:8080', 'https://p', 'http://[::1]:1/'])
      expect(schemaProblems({ ...base, bootstrap: { peer } }), peer).toEqual([]);
    for (const peer of ['ftp://p', 'http://p:0', 'http://p/v1/snapshot', 'http://u@p', 'p:8080', 'http://'])
      expect(schemaProblems({ ...base, bootstrap: { peer } }), peer).toHaveLength(1);
  });
});

describe('pointerToField', () => {
  it.each([
    ['', ''],
    ['/writer/lingerMs', 'writer.lingerMs'],
    ['/stores/0/hosts/12', 'stores[0].hosts[12]'],
    ['/a~1b/c~0d', '"a/b"."c~d"'],
  ])('%j → %j', (pointer, field) => expect(pointerToField(pointer)).toBe(field));
});
