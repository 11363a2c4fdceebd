/**
 * loadConfig: the effective configuration of a node, from defaults ← a JSON file ←
 * `OPLOG_*` variables ← flags (later wins; DESIGN.md "Interfaces"). Objects merge key
 * by key; a list (`stores`, `hosts`) given by a later source replaces the earlier one
 * whole. The merge is validated against schemas/config.schema.json, the defaults are
 * filled (defaults.ts), and the cross-field rules checked (rules.ts). Any problem throws
 * one InvalidConfigError (a ConfigError) naming every field, value and rule, and where
 * each value came from. Nothing reads `process.env`: the caller passes `env`, and the
 * result is frozen, so nothing after loading depends on the environment.
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { InvalidConfigError, throwProblems, type ConfigProblem } from './config-error.js';
import { DEFAULT_CONFIG, DEFAULT_STORE_OPTIONS, derivedDefaults } from './defaults.js';
import { envLayer, type Env } from './env.js';
import { crossFieldProblems } from './rules.js';
import { joinField, schemaProblems } from './schema.js';
import type {
  EtcdStoreConfig,
  FileStoreConfig,
  KafkaStoreConfig,
  OplogConfig,
  StoreConfig,
} from './types.js';

/** A partial config as one source gives it: every field optional, store objects too. */
export type ConfigInput = DeepPartial<Omit<OplogConfig, 'stores'>> & {
  readonly stores?: readonly StoreInput[];
};
/** A store as a source gives it: the kind and location, the rest defaulted. */
export type StoreInput =
  | (Pick<FileStoreConfig, 'kind' | 'dataDir'> & Partial<FileStoreConfig>)
  | (Pick<EtcdStoreConfig, 'kind' | 'hosts'> & Partial<EtcdStoreConfig>)
  | (Pick<KafkaStoreConfig, 'kind' | 'brokers'> & Partial<KafkaStoreConfig>);

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export interface LoadConfigInput {
  /** A JSON config file (schemas/config.schema.json); relative to the working directory. */
  readonly file?: string;
  /** The environment to read `OPLOG_*` from (process.env at the CLI boundary). */
  readonly env: Env;
  /** Values from flags: they win over everything. */
  readonly flags?: ConfigInput;
  /** Config path → the flag that set it, so a bad value names its flag. */
  readonly flagNames?: Readonly<Record<string, string>>;
  /** For the `nodeId` default `<hostname>-<pid>`; this process's when left out. */
  readonly host?: { readonly hostname: string; readonly pid: number };
}

/** Largest config file read: a config is a few KiB; a bigger file is a wrong path. */
export const CONFIG_FILE_BYTES_MAX = 1024 * 1024;

/**
 * The effective config. Throws InvalidConfigError (a ConfigError, code OPLOG_CONFIG)
 * for an unreadable or malformed file, a variable that does not parse, anything the
 * schema refuses (unknown fields included) and any broken cross-field rule.
 */
export function loadConfig(input: LoadConfigInput): OplogConfig {
  const sources = new Map<string, string>();
  let merged: Record<string, unknown> = {};
  if (input.file !== undefined) {
    const file = readConfigFile(input.file);
    merged = mergeLayer(merged, file, sources, () => `in ${input.file}`);
  }
  const env = envLayer(input.env);
  throwProblems(env.problems);
  merged = mergeLayer(merged, env.layer, sources, (path) => `set by ${env.setBy.get(path) ?? 'OPLOG_*'}`);
  if (input.flags !== undefined)
    merged = mergeLayer(merged, input.flags, sources, (path) => `set by ${flagName(input.flagNames, path)}`);

  throwProblems(schemaProblems(merged).map((problem) => withHint(withSource(problem, sources))));
  const config = withDefaults(merged as unknown as ValidInput, input.host ?? thisHost());
  // Derived defaults (a snapshot dir under a long dataDir) can break a bound as well.
  throwProblems(schemaProblems(config).map((problem) => withSource(problem, sources)));
  throwProblems(crossFieldProblems(config).map((problem) => withSource(problem, sources)));
  return deepFreeze(config);
}

/** Reads and parses a config file: a JSON object, at most CONFIG_FILE_BYTES_MAX. */
export function readConfigFile(path: string): Record<string, unknown> {
  const refuse = (rule: string, cause?: unknown): never => {
    throw new InvalidConfigError([{ field: 'file', value: path, rule }], { cause });
  };
  let text: string;
  try {
    const stat = statSync(path);
    // A device or FIFO (/dev/zero) would be read without end.
    if (!stat.isFile()) refuse('must be a regular file');
    const size = stat.size;
    if (size > CONFIG_FILE_BYTES_MAX)
      refuse(`is ${size} bytes; a config file is at most ${CONFIG_FILE_BYTES_MAX}`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof InvalidConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    return refuse(code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`, error);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return refuse(`is not JSON: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (!isPlainObject(parsed)) return refuse('must hold a JSON object ({ "clusterId": …, "stores": […] })');
  return parsed;
}

/** The merged input once the schema accepted it. */
type ValidInput = ConfigInput & { readonly clusterId: string; readonly stores: readonly StoreInput[] };

function withDefaults(input: ValidInput, host: { hostname: string; pid: number }): OplogConfig {
  const stores = input.stores.map(storeWithDefaults);
  const derived = derivedDefaults(stores, host);
  const d = DEFAULT_CONFIG;
  const { tls, ...server } = input.server ?? {};
  return {
    clusterId: input.clusterId,
    role: input.role ?? d.role,
    nodeId: input.nodeId ?? derived.nodeId,
    stores,
    source: input.source ?? derived.source,
    writer: { ...d.writer, ...input.writer },
    standby: {
      ...d.standby,
      ...input.standby,
      applier: { ...d.standby.applier, ...input.standby?.applier },
    },
    snapshots: { dir: input.snapshots?.dir ?? derived.snapshotDir, ...d.snapshots, ...input.snapshots },
    failover: { ...d.failover, ...input.failover },
    checkpoints: { ...d.checkpoints, ...input.checkpoints },
    bootstrap: { ...d.bootstrap, ...input.bootstrap },
    server: { ...d.server, ...server, ...(tls === undefined ? {} : { tls: tls as Required<typeof tls> }) },
    auth: { ...d.auth, ...input.auth },
    logging: { ...d.logging, ...input.logging },
  };
}

/** A store with its kind's defaults, keys in a fixed order: kind, location, options. */
function storeWithDefaults(store: StoreInput): StoreConfig {
  switch (store.kind) {
    case 'file': {
      const { kind, dataDir, ...options } = store;
      return { kind, dataDir, ...DEFAULT_STORE_OPTIONS.file, ...options };
    }
    case 'etcd': {
      const { kind, hosts, ...options } = store;
      return { kind, hosts, ...DEFAULT_STORE_OPTIONS.etcd, ...options };
    }
    case 'kafka': {
      const { kind, brokers, ...options } = store;
      return { kind, brokers, ...DEFAULT_STORE_OPTIONS.kafka, ...options };
    }
  }
}

/**
 * Merges `layer` over `base` (objects key by key, anything else replaced) and records
 * in `sources` which source set each leaf. Keys are defined, never assigned, so a key
 * such as `__proto__` stays an (unknown) field for the schema to refuse instead of
 * changing a prototype.
 */
function mergeLayer(
  base: Record<string, unknown>,
  layer: object,
  sources: Map<string, string>,
  label: (path: string) => string,
  prefix = '',
  dotted = '',
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) define(out, key, value);
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const field = joinField(prefix, key);
    const path = dotted === '' ? key : `${dotted}.${key}`;
    const earlier = out[key];
    if (isPlainObject(value)) {
      define(out, key, mergeLayer(isPlainObject(earlier) ? earlier : {}, value, sources, label, field, path));
      continue;
    }
    for (const known of [...sources.keys()])
      if (known === field || known.startsWith(`${field}.`) || known.startsWith(`${field}[`))
        sources.delete(known);
    sources.set(field, label(path));
    define(out, key, value);
  }
  return out;
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Adds where the value came from to a problem's rule, when a source set it. */
function withSource(problem: ConfigProblem, sources: ReadonlyMap<string, string>): ConfigProblem {
  for (let field = problem.field; field !== ''; field = parentField(field)) {
    const own = sources.get(field);
    const found =
      own === undefined
        ? [...sources]
            .filter(([k]) => k.startsWith(`${field}.`) || k.startsWith(`${field}[`))
            .map(([, v]) => v)
        : [own];
    if (found.length > 0) return { ...problem, rule: `${problem.rule} (${[...new Set(found)].join('; ')})` };
  }
  return problem;
}

/** How to give the values that have no default. */
const MISSING_HINTS: Readonly<Record<string, string>> = {
  clusterId: 'give --cluster ID, OPLOG_CLUSTER_ID or "clusterId" in the config file',
  stores: 'give --store URL, OPLOG_STORES or "stores" in the config file',
};

function withHint(problem: ConfigProblem): ConfigProblem {
  const hint = problem.value === undefined ? MISSING_HINTS[problem.field] : undefined;
  return hint === undefined ? problem : { ...problem, rule: `${problem.rule}: ${hint}` };
}

/** `stores[0].hosts[1]` → `stores[0].hosts` → `stores[0]` → `stores` → `''`. */
function parentField(field: string): string {
  const match = /(\.[A-Za-z_][A-Za-z0-9_]*|\.".*"|\[\d+\])$/.exec(field);
  return match === null ? '' : field.slice(0, match.index);
}

function flagName(names: Readonly<Record<string, string>> | undefined, path: string): string {
  for (let p = path; p !== ''; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const name = names?.[p];
    if (name !== undefined) return name;
  }
  return 'a flag';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function thisHost(): { hostname: string; pid: number } {
  return { hostname: hostname(), pid: process.pid };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
