/**
 * Stores as URLs, the form flags and `OPLOG_STORES` take (DESIGN.md "Interfaces"):
 *
 * - `file:DIR` — the embedded file log in DIR. A relative DIR (`file:./data`,
 *   `file:../x`, `file:data`) resolves against the working directory of the process;
 *   `file:///abs/dir` is `/abs/dir`. Everything after `file:` is the path, as typed:
 *   no %-decoding and no query.
 * - `etcd://HOST:PORT[,HOST:PORT…][?prefix=NAME]` — a missing port is etcd's 2379.
 * - `kafka://HOST:PORT[,HOST:PORT…][?topicPrefix=NAME]` — a missing port is 9092.
 *
 * The result carries the store's defaults (defaults.ts). Credentials are never part of
 * a URL (`etcd://user:pw@h` is refused): TLS, users and password files are set in the
 * config file's store object. Every refusal is an InvalidConfigError naming the field
 * (`--store`, `OPLOG_STORES`, …), the URL and the rule.
 */
import { validateClusterId } from '../core/cluster-id.js';
import { InvalidConfigError } from './config-error.js';
import { DEFAULT_STORE_OPTIONS } from './defaults.js';
import { isEndpoint, isHost } from './endpoint.js';
import type { EtcdStoreConfig, KafkaStoreConfig, StoreConfig } from './types.js';

/** Longest store URL: 16 hosts of 253 characters with ports, and a query. */
export const STORE_URL_CHARS_MAX = 8192;
/** Most hosts in one URL (the schema's bound). */
export const STORE_HOSTS_MAX = 16;

export const STORE_URL_FORMS = 'file:DIR, etcd://HOST:PORT[,HOST:PORT…] or kafka://HOST:PORT[,HOST:PORT…]';

const DEFAULT_PORTS = { etcd: 2379, kafka: 9092 } as const;
/** The one query parameter each networked store takes, and the option it sets. */
const QUERY_KEYS = { etcd: 'prefix', kafka: 'topicPrefix' } as const;

/**
 * Parses one store URL into its StoreConfig with defaults. `field` names where the URL
 * came from, for the error. Throws InvalidConfigError for an empty path, missing or
 * empty hosts, a bad host, a port outside [1, 65535], credentials, an unknown scheme
 * or query parameter.
 */
export function parseStoreUrl(url: string, field = 'store'): StoreConfig {
  const refuse = (rule: string): never => {
    throw new InvalidConfigError([{ field, value: url, rule }]);
  };
  if (url.length > STORE_URL_CHARS_MAX) refuse(`a store URL is at most ${STORE_URL_CHARS_MAX} characters`);
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(url)) refuse('a store URL has no control characters');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  const rest = scheme === undefined ? '' : url.slice(scheme.length + 1);
  switch (scheme) {
    case 'file':
      return { kind: 'file', dataDir: filePath(rest, refuse), ...DEFAULT_STORE_OPTIONS.file };
    case 'etcd':
    case 'kafka':
      return networked(scheme, rest, refuse);
    default:
      return refuse(`unknown store scheme ${JSON.stringify(scheme ?? '')}: use ${STORE_URL_FORMS}`);
  }
}

function filePath(rest: string, refuse: (rule: string) => never): string {
  let path = rest;
  if (rest.startsWith('//')) {
    // file:///abs is the URL form of /abs; file://HOST/… would name another machine.
    if (!rest.startsWith('///'))
      refuse('file:// names a host; use file:DIR (file:./data) or file:///absolute/dir');
    path = rest.slice(2);
  }
  if (path.length === 0) refuse('file: needs a directory, e.g. file:./data');
  return path;
}

function networked(
  kind: 'etcd' | 'kafka',
  rest: string,
  refuse: (rule: string) => never,
): EtcdStoreConfig | KafkaStoreConfig {
  const form = `${kind}://HOST:PORT[,HOST:PORT…][?${QUERY_KEYS[kind]}=NAME]`;
  if (!rest.startsWith('//')) refuse(`must be ${form}`);
  const query = rest.indexOf('?');
  let authority = rest.slice(2, query === -1 ? undefined : query);
  // A trailing slash is harmless; any other path is not ours to ignore.
  if (authority.endsWith('/')) authority = authority.slice(0, -1);
  if (authority.includes('/')) refuse(`has a path; must be ${form}`);
  if (authority.includes('@'))
    refuse('credentials are never given in a URL: set auth / sasl with a passwordFile in the config file');
  if (authority.length === 0) refuse(`names no host; must be ${form}`);
  const parts = authority.split(',');
  if (parts.length > STORE_HOSTS_MAX) refuse(`at most ${STORE_HOSTS_MAX} hosts, got ${parts.length}`);
  const hosts = parts.map((part, index) => endpoint(part, index, DEFAULT_PORTS[kind], refuse));
  const repeated = hosts.find((h, i) => hosts.indexOf(h) !== i);
  if (repeated !== undefined) refuse(`host ${repeated} is given twice`);
  const prefix = query === -1 ? undefined : queryName(kind, rest.slice(query + 1), refuse);
  if (kind === 'etcd')
    return { kind, hosts, ...DEFAULT_STORE_OPTIONS.etcd, ...(prefix === undefined ? {} : { prefix }) };
  return {
    kind,
    brokers: hosts,
    ...DEFAULT_STORE_OPTIONS.kafka,
    ...(prefix === undefined ? {} : { topicPrefix: prefix }),
  };
}

function endpoint(part: string, index: number, defaultPort: number, refuse: (rule: string) => never): string {
  const rule = 'HOST:PORT (a host name, IPv4 or [IPv6] address, and a port in [1, 65535])';
  const which = `host ${index + 1}`;
  if (part.length === 0) refuse(`${which} is empty; hosts are separated by single commas`);
  if (isHost(part)) return `${part}:${defaultPort}`;
  if (isEndpoint(part)) return part;
  const colon = part.lastIndexOf(':');
  const port = colon === -1 ? '' : part.slice(colon + 1);
  if (colon > 0 && isHost(part.slice(0, colon)))
    refuse(`${which} has port ${JSON.stringify(port.slice(0, 20))}: a port is an integer in [1, 65535]`);
  return refuse(`${which} ${JSON.stringify(part.slice(0, 80))} is not ${rule}`);
}

function queryName(kind: 'etcd' | 'kafka', query: string, refuse: (rule: string) => never): string {
  const key = QUERY_KEYS[kind];
  const match = /^([A-Za-z]+)=(.*)$/.exec(query);
  if (match === null || match[1] !== key)
    refuse(`${kind}:// takes one query parameter, ${key}=NAME, got ${JSON.stringify(query.slice(0, 80))}`);
  const name = match[2]!;
  try {
    return validateClusterId(name);
  } catch {
    return refuse(`${key} must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$ without ".."`);
  }
}
