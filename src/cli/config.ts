/**
 * `oplog config --print`: the effective configuration of a node — what `oplog serve`
 * with the same flags, file and environment would run with — as JSON, every default
 * filled. Secrets appear as the paths of their files, never their contents (the config
 * holds nothing else). A bad config exits 2 with every problem named.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { EXIT, examples, runSubcommand, subcommand, type CliIo } from './command.js';
import {
  addServeConfigOptions,
  configFromFlags,
  configSourcesHelp,
  type ServeConfigFlags,
} from './config-flags.js';

export { addServeConfigOptions, configFromFlags, type ServeConfigFlags } from './config-flags.js';

interface ConfigFlags extends ServeConfigFlags {
  readonly print?: boolean;
}

export function defineConfig(io: CliIo): Command {
  const command = subcommand<ConfigFlags>('config', io, run)
    .description(
      "show a node's effective configuration: the file, OPLOG_* variables and flags over the defaults",
    )
    .option('--print', 'print the effective config as JSON (with every default) and exit');
  return addServeConfigOptions(command).addHelpText(
    'after',
    examples(
      ['oplog config --print --cluster demo --store file:./data', 'the defaults for a file-store node'],
      [
        'oplog config --print --config oplog.json --role primary --store etcd://127.0.0.1:2379',
        'a file, with flags over it',
      ],
      [
        'OPLOG_CLUSTER_ID=demo OPLOG_STORES="file:./data kafka://127.0.0.1:9092" oplog config --print',
        'from the environment',
      ],
    ) +
      configSourcesHelp() +
      '\nExit code 2: the config is invalid (every problem is named: field, value, rule, source).\n',
  );
}

export function configCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return runSubcommand(defineConfig(io), argv);
}

async function run(flags: ConfigFlags, io: CliIo): Promise<number> {
  if (flags.print !== true) {
    io.err('oplog config: nothing to do: give --print (oplog config --help lists the options)');
    return EXIT.usage;
  }
  // The CLI is the boundary: the environment is read here, once, and handed over.
  const config = loadConfig(configFromFlags(flags, process.env));
  io.out(JSON.stringify(config, null, 2));
  return EXIT.ok;
}
