/**
 * What every subcommand shares: where its output goes, how commander is set up (its
 * errors are thrown, never `process.exit`, and its output goes through {@link CliIo}),
 * and which exit code an outcome is.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError, InvalidClusterIdError, InvalidInputError, OplogError } from '../core/errors.js';

/** Lines out: results on `out`, warnings and errors on `err`. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** The documented exit codes (README "CLI"). */
export const EXIT = {
  ok: 0,
  /** Damage found, a store unreachable, states that differ: the message names the seq or file. */
  failure: 1,
  /** Bad input or config: an unknown option, a value out of its bound, no such log. */
  usage: 2,
  /** A subcommand not built yet; every subcommand is built now, so none returns it. */
  notImplemented: 3,
} as const;

/** A subcommand's body: its parsed (already validated) options in, its exit code out. */
export type Run<O> = (options: O, io: CliIo) => Promise<number>;

const exitCodes = new WeakMap<Command, number>();

/** Sets up commander the same way for the program and every subcommand. */
export function configureCommand(command: Command, io: CliIo, path: string): Command {
  return command
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
      outputError: (text, write) => write(`${path}: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError(`(${path} --help lists the options and examples)`);
}

/**
 * A subcommand whose action runs `run` with the parsed options. Every option's value
 * is checked by its parser while commander parses, so `run` starts only once all of
 * them are valid: a refused command has created nothing.
 */
export function subcommand<O extends object>(name: string, io: CliIo, run: Run<O>): Command {
  const command = configureCommand(new Command(name), io, `oplog ${name}`);
  command.action(async () => {
    exitCodes.set(command, await run(command.opts() as O, io));
  });
  return command;
}

/** The exit code the action of `command` (or of one of its subcommands) returned. */
export function exitCodeOf(command: Command): number | undefined {
  const own = exitCodes.get(command);
  if (own !== undefined) return own;
  for (const sub of command.commands) {
    const code = exitCodeOf(sub);
    if (code !== undefined) return code;
  }
  return undefined;
}

/**
 * Parses `argv` (the subcommand's arguments) and runs it; errors propagate, typed
 * (InvalidInputError for a bad value, CommanderError for an unknown option).
 */
export async function runSubcommand(command: Command, argv: readonly string[]): Promise<number> {
  await command.parseAsync([...argv], { from: 'user' });
  const code = exitCodeOf(command);
  return code ?? EXIT.ok;
}

/** The exit code of an error that escaped a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  const usage =
    error instanceof InvalidInputError ||
    error instanceof InvalidClusterIdError ||
    error instanceof ConfigError;
  return usage ? EXIT.usage : EXIT.failure;
}

/** One line for an error: `[CODE] message` for ours. */
export function describeCliError(error: unknown): string {
  const code = error instanceof OplogError ? `[${error.code}] ` : '';
  return `${code}${error instanceof Error ? error.message : String(error)}`;
}

/** The `Examples:` block every subcommand's --help ends with. */
export function examples(...lines: readonly [command: string, what: string][]): string {
  return `\nExamples:\n${lines.map(([command, what]) => `  # ${what}\n  $ ${command}`).join('\n')}\n`;
}
