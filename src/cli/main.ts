#!/usr/bin/env node
/**
 * The `oplog` command: program.ts defines it; this file only connects it to the
 * process (arguments, stdout and stderr, the exit code).
 */
import { runCli } from './program.js';

// `oplog inspect … | head`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const io = {
  out: (line: string) => void process.stdout.write(`${line}\n`),
  err: (line: string) => void process.stderr.write(`${line}\n`),
};

runCli(process.argv.slice(2), io).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    // runCli turns every error into an exit code; reaching this is a bug.
    process.stderr.write(
      `oplog: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
