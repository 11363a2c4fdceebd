/**
 * `OPLOG_*` environment variables as a config layer. Only the variables in
 * {@link ENV_VARS} are read; any other `OPLOG_*` name (the test and benchmark knobs,
 * say) is left alone. An empty value counts as unset. Values are checked later with the
 * rest of the config, except the two that need parsing here: store URLs and booleans.
 *
 * `OPLOG_STORES` holds store URLs separated by spaces (or tabs or newlines), not
 * commas: a comma already separates the hosts inside one URL
 * (`OPLOG_STORES="etcd://a:2379,b:2379 kafka://k:9092"`).
 */
import type { ConfigProblem } from './config-error.js';
import { InvalidConfigError } from './config-error.js';
import { parseStoreUrl } from './store-url.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Each variable, the config path it sets, and how its text becomes a value. */
export const ENV_VARS = {
  OPLOG_CLUSTER_ID: { path: 'clusterId', kind: 'string' },
  OPLOG_ROLE: { path: 'role', kind: 'string' },
  OPLOG_NODE_ID: { path: 'nodeId', kind: 'string' },
  OPLOG_STORES: { path: 'stores', kind: 'stores' },
  OPLOG_SOURCE: { path: 'source', kind: 'string' },
  OPLOG_HTTP: { path: 'server.http', kind: 'string' },
  OPLOG_TLS_CERT_FILE: { path: 'server.tls.certFile', kind: 'string' },
  OPLOG_TLS_KEY_FILE: { path: 'server.tls.keyFile', kind: 'string' },
  OPLOG_PEER: { path: 'bootstrap.peer', kind: 'string' },
  OPLOG_SNAPSHOT_DIR: { path: 'snapshots.dir', kind: 'string' },
  OPLOG_AUTH_TOKEN_FILE: { path: 'auth.tokenFile', kind: 'string' },
  OPLOG_LOG_LEVEL: { path: 'logging.level', kind: 'string' },
  OPLOG_LOG_PRETTY: { path: 'logging.pretty', kind: 'boolean' },
} as const satisfies Record<string, { path: string; kind: 'string' | 'boolean' | 'stores' }>;

export type EnvVar = keyof typeof ENV_VARS;

/** The config file's path when no `--config` flag names one (read by configFromFlags). */
export const CONFIG_FILE_ENV = 'OPLOG_CONFIG';

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

export interface EnvLayer {
  /** The values, nested as in the config file. */
  readonly layer: Record<string, unknown>;
  /** Config path → the variable that set it. */
  readonly setBy: ReadonlyMap<string, EnvVar>;
  /** Values that could not be parsed, each naming its variable. */
  readonly problems: readonly ConfigProblem[];
}

/** Reads the known `OPLOG_*` variables of `env` into a config layer. */
export function envLayer(env: Env): EnvLayer {
  const layer: Record<string, unknown> = {};
  const setBy = new Map<string, EnvVar>();
  const problems: ConfigProblem[] = [];
  for (const [name, { path, kind }] of Object.entries(ENV_VARS) as [EnvVar, (typeof ENV_VARS)[EnvVar]][]) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const value = parseValue(name, kind, text, problems);
    if (value === undefined) continue;
    setPath(layer, path, value);
    setBy.set(path, name);
  }
  return { layer, setBy, problems };
}

function parseValue(
  name: EnvVar,
  kind: 'string' | 'boolean' | 'stores',
  text: string,
  problems: ConfigProblem[],
): unknown {
  switch (kind) {
    case 'string':
      return text;
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (TRUE.includes(word)) return true;
      if (FALSE.includes(word)) return false;
      problems.push({ field: name, value: text, rule: `must be one of ${[...TRUE, ...FALSE].join(', ')}` });
      return undefined;
    }
    case 'stores': {
      const urls = text.split(/\s+/).filter((url) => url.length > 0);
      const stores: unknown[] = [];
      for (const url of urls) {
        try {
          stores.push(parseStoreUrl(url, name));
        } catch (error) {
          if (!(error instanceof InvalidConfigError)) throw error;
          problems.push(...error.problems);
        }
      }
      return urls.length === 0 ? undefined : stores;
    }
  }
}

/** Sets `path` (dotted) in `target`, creating the objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}
