/**
 * `oplog bench`: throughput and lag measurements from the command line. Not built yet
 * (the harness is `npm run bench:*`): it says so and exits 3. The issue that builds it
 * adds its flags and fills in `run`.
 */
import type { Command } from 'commander';
import { EXIT, examples, runSubcommand, subcommand, type CliIo } from './command.js';

export function defineBench(io: CliIo): Command {
  return subcommand<object>('bench', io, run)
    .description('run a benchmark — not implemented yet; use npm run bench:* meanwhile')
    .addHelpText(
      'after',
      examples(['npm run bench:file-store', 'the file store benchmark, meanwhile']) +
        '\nExit code 3: not implemented yet (see README "Known limits").\n',
    );
}

export function benchCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return runSubcommand(defineBench(io), argv);
}

async function run(_flags: object, io: CliIo): Promise<number> {
  io.err('oplog bench: not implemented yet (see README "Known limits")');
  return EXIT.notImplemented;
}
