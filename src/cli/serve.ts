/**
 * `oplog serve`: the service (DESIGN.md "The service"). Not built yet: it parses and
 * checks its flags, then says so and exits 3, so scripts can tell "not implemented"
 * from bad input (2) and failure (1). The issue that builds it fills in `run`.
 */
import type { Command } from 'commander';
import { EXIT, examples, runSubcommand, subcommand, type CliIo } from './command.js';
import { choiceOption, endpointsOption } from './flags.js';

export const SERVE_ROLES = ['primary', 'standby', 'auto'] as const;

interface ServeFlags {
  readonly role: (typeof SERVE_ROLES)[number];
  readonly http?: readonly string[];
}

export function defineServe(io: CliIo): Command {
  return subcommand<ServeFlags>('serve', io, run)
    .description(
      'run a node: a primary writer, a standby follower, or auto (a standby that campaigns) — not implemented yet',
    )
    .addOption(choiceOption('--role <role>', 'the node role', SERVE_ROLES, 'standby'))
    .addOption(endpointsOption('--http <endpoint>', 'the HTTP listener'))
    .addHelpText(
      'after',
      examples(['oplog serve --role primary --http 127.0.0.1:8080', 'a primary with its HTTP API']) +
        '\nExit code 3: not implemented yet (see README "Known limits").\n',
    );
}

export function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return runSubcommand(defineServe(io), argv);
}

async function run(_flags: ServeFlags, io: CliIo): Promise<number> {
  io.err('oplog serve: not implemented yet (see README "Known limits")');
  return EXIT.notImplemented;
}
