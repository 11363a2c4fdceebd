/**
 * The configuration flags of `oplog serve`, shared with `oplog config --print` so both
 * read a node's config the same way: addServeConfigOptions registers them on a command,
 * configFromFlags turns the parsed values (and the environment) into loadConfig's
 * input. The flags carry no commander defaults on purpose: a default there would
 * override the config file and `OPLOG_*` (flags win), so defaults live only in
 * src/config/defaults.ts. Values are checked by loadConfig, which names the flag.
 */
import { Option, type Command } from 'commander';
import type { ConfigInput, LoadConfigInput } from '../config/config.js';
import { InvalidConfigError, type ConfigProblem } from '../config/config-error.js';
import { CONFIG_FILE_ENV, ENV_VARS, setPath, type Env } from '../config/env.js';
import { parseStoreUrl, STORE_URL_FORMS } from '../config/store-url.js';
import type { StoreConfig } from '../config/types.js';

/** The parsed flags (commander's camelCase names). */
export interface ServeConfigFlags {
  readonly config?: string;
  readonly store?: readonly string[];
  readonly cluster?: string;
  readonly role?: string;
  readonly nodeId?: string;
  readonly source?: string;
  readonly http?: string;
  readonly peer?: string;
  readonly tokenFile?: string;
  readonly snapshotDir?: string;
  readonly logLevel?: string;
  readonly logPretty?: boolean;
}

/**
 * Each value flag, the config path it sets and its help (a flag without `<value>` is a
 * switch: given, it sets `true`). `--store` and `--config` are apart.
 */
const VALUE_FLAGS = [
  ['--cluster <id>', 'clusterId', 'the cluster, i.e. which log; [A-Za-z0-9][A-Za-z0-9_.-]{0,127}, no ".."'],
  [
    '--role <role>',
    'role',
    'primary | standby | auto (a standby that campaigns; needs etcd) (default: standby)',
  ],
  ['--node-id <id>', 'nodeId', "this node's name in the election and logs (default: <hostname>-<pid>)"],
  [
    '--source <kind>',
    'source',
    'the store a standby follows: file | etcd | kafka (default: kafka, else etcd, else file)',
  ],
  [
    '--http <host:port>',
    'server.http',
    'the HTTP listener; port 0 picks a free one (default: 127.0.0.1:8080)',
  ],
  [
    '--peer <url>',
    'bootstrap.peer',
    "a peer's base URL (http://h:p) whose snapshot an empty standby installs",
  ],
  [
    '--token-file <path>',
    'auth.tokenFile',
    'a file holding the bearer token for mutating endpoints and snapshots',
  ],
  [
    '--snapshot-dir <dir>',
    'snapshots.dir',
    'where snapshots are kept (default: <file store dataDir>/snapshots)',
  ],
  ['--log-level <level>', 'logging.level', 'debug | info | warn | error | silent (default: info)'],
  [
    '--log-pretty',
    'logging.pretty',
    'human-readable log lines for a person at a terminal (pino-pretty) instead of JSON (default: JSON)',
  ],
] as const;

/** Config path → flag, so a bad value names the flag that set it. */
export const SERVE_FLAG_NAMES: Readonly<Record<string, string>> = Object.fromEntries([
  ['stores', '--store'],
  ...VALUE_FLAGS.map(([flags, path]) => [path, flags.split(' ')[0]!]),
]);

/** Adds `--config`, `--store` (repeatable) and the value flags of {@link VALUE_FLAGS}. */
export function addServeConfigOptions(command: Command): Command {
  command
    .addOption(
      new Option(
        '--config <file>',
        `a JSON config file (schemas/config.schema.json); default $${CONFIG_FILE_ENV}`,
      ),
    )
    .addOption(
      new Option(
        '--store <url>',
        `a store, once per store: ${STORE_URL_FORMS}; replaces the file's stores`,
      ).argParser((url: string, previous: string[] | undefined) => [...(previous ?? []), url]),
    );
  for (const [flags, , description] of VALUE_FLAGS) command.addOption(new Option(flags, description));
  return command;
}

/**
 * loadConfig's input from the parsed flags and `env`: the file is `--config`, else
 * `$OPLOG_CONFIG`. Throws InvalidConfigError naming `--store` for a bad store URL.
 */
export function configFromFlags(opts: ServeConfigFlags, env: Env): LoadConfigInput {
  const flags: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  const stores: StoreConfig[] = [];
  for (const url of opts.store ?? []) {
    try {
      stores.push(parseStoreUrl(url, '--store'));
    } catch (error) {
      if (!(error instanceof InvalidConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);
  if (stores.length > 0) flags['stores'] = stores;
  for (const [flag, path] of VALUE_FLAGS) {
    const value = opts[attributeName(flag)];
    if (value !== undefined) setPath(flags, path, value);
  }
  const envFile = env[CONFIG_FILE_ENV];
  const file = opts.config ?? (envFile === '' ? undefined : envFile);
  return {
    ...(file === undefined ? {} : { file }),
    env,
    flags: flags as ConfigInput,
    flagNames: SERVE_FLAG_NAMES,
  };
}

/** `--node-id <id>` → `nodeId`, commander's name for the parsed value. */
function attributeName(flags: string): Exclude<keyof ServeConfigFlags, 'store' | 'config'> {
  return new Option(flags).attributeName() as Exclude<keyof ServeConfigFlags, 'store' | 'config'>;
}

/** The `Configuration sources` block of `--help`: precedence and every variable. */
export function configSourcesHelp(): string {
  const width = Math.max(...Object.keys(ENV_VARS).map((name) => name.length));
  const rows = Object.entries(ENV_VARS).map(([name, { path }]) => `  ${name.padEnd(width)}  ${path}`);
  return [
    '',
    'Configuration sources (later wins): defaults ← --config FILE (or $OPLOG_CONFIG) ← OPLOG_* ← flags.',
    'A list (stores) from a later source replaces the earlier one. Variables (an empty one is unset):',
    ...rows,
    'OPLOG_STORES holds store URLs separated by spaces (a comma separates hosts within one URL).',
    '',
  ].join('\n');
}
