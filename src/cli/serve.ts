/**
 * `oplog serve`: one node as a service (src/server/service.ts). The config comes from
 * the same flags, file and `OPLOG_*` variables as `oplog config --print` (a bad one
 * exits 2 naming the field, the value and the rule); logs are pino JSON lines on
 * stdout (src/server/node-logger.ts says what each carries), or with `--log-pretty`
 * (`logging.pretty`) human-readable lines through pino-pretty, loaded only then. SIGTERM and SIGINT drain and stop: watch streams are cut with a reason,
 * requests in flight are answered, the writer acknowledges what is durable and fails
 * nothing it acknowledged, then the process exits 0. A second signal exits at once (1).
 */
import type { Command } from 'commander';
import pino from 'pino';
import { loadZstd } from '../compression/zstd.js';
import { loadConfig } from '../config/config.js';
import { readSecret } from '../config/secret.js';
import type { Logger } from '../core/telemetry.js';
import { OplogService } from '../server/service.js';
import {
  EXIT,
  describeCliError,
  examples,
  exitCodeFor,
  runSubcommand,
  subcommand,
  type CliIo,
} from './command.js';
import { addServeConfigOptions, configFromFlags, type ServeConfigFlags } from './config.js';
import { configSourcesHelp } from './config-flags.js';
import { packageVersion } from './version.js';

export const SERVE_ROLES = ['primary', 'standby', 'auto'] as const;

/** What serve needs of its process: the environment, signals, and a way to wait for them. */
export interface ServeProcessIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  onSignal(handler: (signal: string) => void): void;
  /** Serve is done (stopped, or failed to start and cleaned up) and returns `code`. */
  ended(code: number): void;
}

/**
 * How long a finished serve gives its event loop to drain before the process exits
 * anyway: a client library may have reopened a socket while shutting down (kafkajs's
 * createTopics polling for leaders reconnects after disconnect(), a gRPC channel
 * reconnecting), which would keep the process alive for good.
 */
export const SERVE_EXIT_GRACE_MS = 2_000;

const defaultProcessIo: ServeProcessIo = {
  env: process.env,
  onSignal(handler) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => handler(signal));
  },
  ended(code) {
    // Unref'd: a process whose loop drains first exits by itself, with its output flushed.
    setTimeout(() => process.exit(code), SERVE_EXIT_GRACE_MS).unref();
  },
};

export function defineServe(io: CliIo, processIo: ServeProcessIo = defaultProcessIo): Command {
  const command = subcommand<ServeConfigFlags>('serve', io, (flags) => run(flags, io, processIo)).description(
    'run a node as a service: primary (promotes itself once caught up), standby (follows; POST /v1/promote), or auto (a standby that campaigns for the etcd leader key)',
  );
  addServeConfigOptions(command);
  return command.addHelpText(
    'after',
    examples(
      [
        'oplog serve --role primary --cluster demo --store file:./data --http 127.0.0.1:8080',
        'a primary on the embedded file store',
      ],
      [
        'oplog serve --role standby --cluster demo --store file:./data --http 127.0.0.1:8081 --snapshot-dir ./standby-snapshots',
        'a standby of it on the same machine',
      ],
      [
        'oplog serve --role auto --cluster c1 --store etcd://127.0.0.1:2379 --store kafka://127.0.0.1:9092 --http 0.0.0.0:8080',
        'a node that takes over by itself when the primary dies',
      ],
      [
        'oplog serve --role primary --cluster demo --store file:./data --log-pretty --log-level debug',
        'log lines for a person at a terminal, not JSON',
      ],
    ) +
      configSourcesHelp() +
      '\nLogs: JSON lines on stdout with cluster, node, role (and epoch while writing); a repeated\n' +
      'warning at most once per logging.warningIntervalMs (config file; 10000), the next line\n' +
      'carrying how many were folded ("folded", "foldedFromSeq", "foldedToSeq").\n' +
      '\nExit codes: 0 stopped by SIGTERM/SIGINT after draining, 1 failed, 2 bad config.\n',
  );
}

export function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return runSubcommand(defineServe(io), argv);
}

async function run(flags: ServeConfigFlags, io: CliIo, processIo: ServeProcessIo): Promise<number> {
  const config = loadConfig(configFromFlags(flags, processIo.env));
  const logger: Logger & pino.Logger = pino(
    { level: config.logging.level, base: { cluster: config.clusterId, node: config.nodeId } },
    config.logging.pretty ? await prettyStdout() : pino.destination({ fd: 1, sync: false }),
  );
  let service: OplogService;
  try {
    service = await OplogService.start({
      config,
      compression: await loadZstd(),
      logger,
      readSecret: async (path) => readSecret(path),
      version: packageVersion(),
    });
  } catch (error) {
    logger.error({ cause: describeCliError(error) }, 'could not start');
    logger.flush();
    io.err(`oplog serve: ${describeCliError(error)}`);
    const code = exitCodeFor(error);
    processIo.ended(code);
    return code;
  }
  const signalled = new Promise<string>((resolve) => {
    let count = 0;
    processIo.onSignal((signal) => {
      if (++count > 1) {
        io.err(`oplog serve: second ${signal}: exiting without draining`);
        process.exit(EXIT.failure);
      }
      resolve(signal);
    });
  });
  const signal = await signalled;
  service.log.info({ signal }, 'draining');
  await service.stop();
  logger.flush();
  processIo.ended(EXIT.ok);
  return EXIT.ok;
}

/**
 * Human-readable lines on stdout (pino-pretty, a dependency for this flag alone, so it is
 * imported only when asked for): the time, the level, `cluster/node role epoch: message`,
 * then the line's other fields on the same line. Written synchronously: a person at a
 * terminal reads a few lines a second, and none is lost when the process exits.
 */
async function prettyStdout(): Promise<pino.DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    destination: 1,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'cluster,node,role,epoch',
    messageFormat: '{cluster}/{node}{if role} {role}{end}{if epoch} epoch {epoch}{end}: {msg}',
  });
}
