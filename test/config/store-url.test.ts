/**
 * Store URLs (src/config/store-url.ts): the three forms parse into StoreConfigs with
 * their defaults; hostile and mistaken URLs — empty paths and hosts, huge ports, stray
 * commas, credentials, unknown schemes and parameters — are refused with a ConfigError
 * naming the field, the URL and the rule, and never half-parsed.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_STORE_OPTIONS } from '../../src/config/defaults.js';
import { parseStoreUrl, STORE_URL_CHARS_MAX } from '../../src/config/store-url.js';
import { problemOf } from './problems.js';

describe('parseStoreUrl accepts', () => {
  it.each([
    ['file:./data', './data'],
    ['file:data', 'data'],
    // A relative path is the user's to give; it resolves against the working directory.
    ['file:../x', '../x'],
    ['file:/var/lib/oplog', '/var/lib/oplog'],
    ['file:///var/lib/oplog', '/var/lib/oplog'],
    ['FILE:./d', './d'],
    ['file:./my data?x=1', './my data?x=1'],
  ])('%j as the file store in %j', (url, dataDir) => {
    expect(parseStoreUrl(url)).toEqual({ kind: 'file', dataDir, ...DEFAULT_STORE_OPTIONS.file });
  });

  it('etcd://, several hosts, the default port 2379, a prefix', () => {
    expect(parseStoreUrl('etcd://127.0.0.1:2379,[::1]:2380,e3')).toEqual({
      kind: 'etcd',
      hosts: ['127.0.0.1:2379', '[::1]:2380', 'e3:2379'],
      prefix: 'oplog',
      callTimeoutMs: 5000,
    });
    expect(parseStoreUrl('etcd://h:1/?prefix=team-a.v2')).toMatchObject({
      hosts: ['h:1'],
      prefix: 'team-a.v2',
    });
  });

  it('kafka://, the default port 9092, a topic prefix', () => {
    expect(parseStoreUrl('kafka://k1:9092,k2?topicPrefix=t')).toEqual({
      kind: 'kafka',
      brokers: ['k1:9092', 'k2:9092'],
      ...DEFAULT_STORE_OPTIONS.kafka,
      topicPrefix: 't',
    });
  });
});

describe('parseStoreUrl refuses', () => {
  it.each([
    ['file:', /file: needs a directory/],
    ['file://', /file:\/\/ names a host/],
    ['file://server/share', /file:\/\/ names a host/],
    ['file:./a\nb', /no control characters/],
    ['file:./a\0b', /no control characters/],
    ['etcd://', /names no host/],
    ['etcd:', /must be etcd:\/\/HOST:PORT/],
    ['etcd:h:1', /must be etcd:\/\/HOST:PORT/],
    ['etcd://a:1,,b:2', /host 2 is empty/],
    ['etcd://a:1,', /host 2 is empty/],
    ['etcd://,a:1', /host 1 is empty/],
    ['etcd://a:99999', /host 1 has port "99999": a port is an integer in \[1, 65535\]/],
    ['etcd://a:0', /has port "0"/],
    [`etcd://a:${'9'.repeat(400)}`, /has port "9{20}": a port is an integer/],
    ['kafka://a:-1', /has port "-1"/],
    ['kafka://a:1x', /has port "1x"/],
    ['kafka://a b:1', /host 1 "a b:1" is not HOST:PORT/],
    ['kafka://../x', /host 1 "..\/x" is not HOST:PORT|has a path/],
    ['etcd://h:1/v3', /has a path/],
    ['etcd://user:secret@h:1', /credentials are never given in a URL/],
    ['etcd://h:1,h:1', /host h:1 is given twice/],
    ['etcd://h,h:2379', /host h:2379 is given twice/],
    [`etcd://${Array.from({ length: 17 }, (_, i) => `h${i}:1`).join(',')}`, /at most 16 hosts, got 17/],
    ['etcd://h:1?prefix=../x', /prefix must match/],
    ['etcd://h:1?prefix=a..b', /prefix must match/],
    ['etcd://h:1?prefix=', /prefix must match/],
    ['etcd://h:1?topicPrefix=x', /takes one query parameter, prefix=NAME/],
    ['kafka://h:1?prefix=x', /takes one query parameter, topicPrefix=NAME/],
    ['etcd://h:1?prefix=a&prefix=b', /prefix must match/],
    ['redis://h:1', /unknown store scheme "redis": use file:DIR/],
    ['./data', /unknown store scheme "": use file:DIR/],
    ['', /unknown store scheme ""/],
    ['http://h:2379', /unknown store scheme "http"/],
  ])('%j', (url, rule) => {
    const problem = problemOf(() => parseStoreUrl(url, '--store'));
    expect(problem.field).toBe('--store');
    expect(problem.value).toBe(url);
    expect(problem.rule).toMatch(rule);
  });

  it('a URL past its length bound, without echoing all of it', () => {
    const url = `file:${'x'.repeat(STORE_URL_CHARS_MAX)}`;
    let message = '';
    const problem = problemOf(() => {
      try {
        parseStoreUrl(url, 'OPLOG_STORES');
      } catch (error) {
        message = (error as Error).message;
        throw error;
      }
    });
    expect(problem).toMatchObject({
      field: 'OPLOG_STORES',
      rule: `a store URL is at most ${STORE_URL_CHARS_MAX} characters`,
    });
    expect(message.length).toBeLessThan(500);
  });
});
