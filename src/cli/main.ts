#!/usr/bin/env node
/**
 * The `oplog` command. Subcommands arrive with the issues that build them; until then
 * each says honestly that it does not exist yet.
 */
import { InvalidClusterIdError, InvalidInputError, OplogError } from '../core/errors.js';
import { demo } from './demo.js';
import { inspectCommand } from './inspect.js';
import { replayCommand } from './replay.js';
import { verifyCommand } from './verify.js';

const USAGE = `usage: oplog <command> [options]

commands:
  serve --role primary|standby   run a primary writer or a standby follower
  replay                         rebuild a node from a snapshot plus the log; print its hash
                                 (--data-dir DIR | --store etcd|kafka ...) [--to-seq N | --to-time T]
  inspect                        print a store's records (--entries: and entries)
                                 (--data-dir DIR | --store etcd|kafka ...) [--from-seq N] [--limit K]
  verify                         check checksums, contiguity and epochs of every given store,
                                 and that they are identical where they overlap
                                 [--data-dir DIR] [--etcd HOST:PORT] [--kafka HOST:PORT]
  bench                          run a benchmark
  demo                           append and replay on the embedded file store
`;

async function main(argv: readonly string[]): Promise<number> {
  const command = argv[0];
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'demo') return demo(argv.slice(1));
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (command === 'replay') return replayCommand(argv.slice(1), out);
  if (command === 'inspect') return inspectCommand(argv.slice(1), out);
  if (command === 'verify') return verifyCommand(argv.slice(1), out);
  if (['serve', 'bench'].includes(command)) {
    process.stderr.write(`oplog ${command}: not implemented yet (see README "Known limits")\n`);
    return 3;
  }
  process.stderr.write(`oplog: unknown command ${JSON.stringify(command)}\n${USAGE}`);
  return 2;
}

// `oplog inspect … | head`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    const usage =
      error instanceof InvalidInputError ||
      error instanceof InvalidClusterIdError ||
      (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE';
    const code = error instanceof OplogError ? ` [${error.code}]` : '';
    process.stderr.write(`oplog:${code} ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
