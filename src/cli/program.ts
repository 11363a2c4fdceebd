/**
 * The `oplog` program: every subcommand (one file each), `--help` and `--version`, and
 * the one place where an outcome becomes an exit code (command.ts EXIT): 0 ok, 1
 * failure, 2 bad input or config (3, "not implemented yet", is used by no subcommand now).
 */
import { Command, CommanderError } from 'commander';
import { defineBench } from './bench.js';
import { configureCommand, describeCliError, EXIT, exitCodeFor, exitCodeOf, type CliIo } from './command.js';
import { defineConfig } from './config.js';
import { defineDemo } from './demo.js';
import { defineInspect } from './inspect.js';
import { defineReplay } from './replay.js';
import { defineServe } from './serve.js';
import { defineStatus } from './status.js';
import { defineVerify } from './verify.js';
import { packageVersion } from './version.js';

/** Every subcommand, in the order `oplog --help` lists them. */
const SUBCOMMANDS = [
  defineServe,
  defineStatus,
  defineReplay,
  defineInspect,
  defineVerify,
  defineBench,
  defineDemo,
  defineConfig,
] as const;

const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  failure: damage found, a store unreachable, states that differ (the message names the seq or file)
  2  bad input or config: an unknown option or command, a value out of its bound, no such log

Run oplog <command> --help for a command's options and examples.
`;

export function buildProgram(io: CliIo): Command {
  const program = configureCommand(new Command('oplog'), io, 'oplog')
    .description(
      'an event-sourced replication log: group-committed, checksummed batch records on a file log, etcd or Kafka',
    )
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .addHelpText('after', EXIT_CODES_HELP);
  for (const define of SUBCOMMANDS) program.addCommand(define(io));
  return program;
}

/** Runs `oplog ARGV`; never throws: every outcome is an exit code, every error a line on `err`. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodeOf(program) ?? EXIT.ok;
  } catch (error) {
    const code = exitCodeFor(error);
    // Commander has already written its own message (and the help, when asked for).
    if (!(error instanceof CommanderError)) io.err(`oplog: ${describeCliError(error)}`);
    return code;
  }
}
