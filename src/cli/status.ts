/**
 * `oplog status URL…`: the nodes' `GET /v1/status`, side by side — a live view that
 * redraws every `--interval-ms` (role, state, epoch, head, applied, lag, entries/s,
 * last error per node), or, with `--once`, one table (or `--json`, the status documents
 * as a JSON array) for scripts. A node that does not answer is a row saying why; with
 * `--once` the exit code is then 1, so a script notices.
 */
import { Option, type Command } from 'commander';
import { InvalidInputError } from '../core/errors.js';
import { EXIT, examples, runSubcommand, subcommand, type CliIo } from './command.js';
import { integerOption } from './flags.js';

interface StatusFlags {
  readonly once?: boolean;
  readonly json?: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

type Answer = { readonly url: string; readonly status?: Record<string, unknown>; readonly error?: string };

export function defineStatus(io: CliIo): Command {
  const command: Command = subcommand<StatusFlags>('status', io, (flags) => run(command.args, flags, io))
    .description("the nodes' status side by side, live (or once, as a table or JSON)")
    .argument('<url...>', 'base URLs of oplog serve nodes (http://host:port)')
    .addOption(new Option('--once', 'print once and exit (1 if a node did not answer)'))
    .addOption(new Option('--json', 'with --once: the status documents as a JSON array'))
    .addOption(
      integerOption('--interval-ms <ms>', 'redraw interval of the live view', {
        min: 100,
        max: 60_000,
        default: 1_000,
      }),
    )
    .addOption(
      integerOption('--timeout-ms <ms>', 'how long to wait for each node', {
        min: 100,
        max: 60_000,
        default: 2_000,
      }),
    );
  return command.addHelpText(
    'after',
    examples(
      ['oplog status http://127.0.0.1:8080 http://127.0.0.1:8081', 'watch a primary and a standby'],
      ['oplog status --once --json http://127.0.0.1:8081', 'one snapshot for a script'],
    ),
  );
}

export function statusCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return runSubcommand(defineStatus(io), argv);
}

async function run(urls: readonly string[], flags: StatusFlags, io: CliIo): Promise<number> {
  const bases = urls.map(checkUrl);
  if (flags.json === true && flags.once !== true)
    throw new InvalidInputError('--json', 'needs --once (the live view is for a terminal)');
  if (flags.once === true) {
    const answers = await Promise.all(bases.map((url) => fetchStatus(url, flags.timeoutMs)));
    if (flags.json === true)
      io.out(
        JSON.stringify(
          answers.map((a) => a.status ?? { url: a.url, error: a.error }),
          null,
          2,
        ),
      );
    else for (const line of render(answers, new Map(), 0)) io.out(line);
    return answers.some((a) => a.error !== undefined) ? EXIT.failure : EXIT.ok;
  }
  let previous = new Map<string, { appliedSeq: bigint; atMs: number }>();
  for (;;) {
    const startedMs = performance.now();
    const answers = await Promise.all(bases.map((url) => fetchStatus(url, flags.timeoutMs)));
    const lines = render(answers, previous, startedMs);
    // Clear the screen and draw from the top left: one frame per interval.
    io.out(
      `\x1b[2J\x1b[H${new Date().toISOString()}  every ${flags.intervalMs} ms, Ctrl-C to stop\n${lines.join('\n')}`,
    );
    previous = new Map(
      answers.flatMap((a) =>
        a.status === undefined
          ? []
          : [[a.url, { appliedSeq: BigInt(String(a.status['appliedSeq'])), atMs: startedMs }]],
      ),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, flags.intervalMs - (performance.now() - startedMs))));
  }
}

function checkUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidInputError(
      'url',
      `must be a base URL such as http://127.0.0.1:8080, got ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidInputError('url', `must be http or https, got ${url.protocol}`);
  return url.origin;
}

async function fetchStatus(url: string, timeoutMs: number): Promise<Answer> {
  try {
    const response = await fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { url, error: `HTTP ${response.status}` };
    return { url, status: (await response.json()) as Record<string, unknown> };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } })
      .cause;
    const code = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message;
    return { url, error: code ?? (error instanceof Error ? error.message : String(error)) };
  }
}

const COLUMNS = [
  'node',
  'role',
  'state',
  'epoch',
  'head',
  'applied',
  'lag',
  'lag s',
  'entries/s',
  'last error',
];

/** One table: a header and a row per node; entries/s from the applied seq since the last frame. */
function render(
  answers: readonly Answer[],
  previous: ReadonlyMap<string, { appliedSeq: bigint; atMs: number }>,
  nowMs: number,
): string[] {
  const rows = answers.map((a) => {
    if (a.status === undefined)
      return [a.url, '-', 'unreachable', '-', '-', '-', '-', '-', '-', a.error ?? ''];
    const s = a.status;
    const lag = s['lag'] as { entries: string; seconds: number };
    const before = previous.get(a.url);
    const applied = BigInt(String(s['appliedSeq']));
    const rate =
      before === undefined || nowMs <= before.atMs
        ? '-'
        : String(Math.round(Number(applied - before.appliedSeq) / ((nowMs - before.atMs) / 1000)));
    const flags = [
      s['divergent'] === true ? 'DIVERGENT' : '',
      s['degraded'] === true ? 'DEGRADED' : '',
    ].filter(Boolean);
    return [
      String(s['nodeId']),
      `${String(s['role'])}${s['writing'] === true ? '*' : ''}`,
      [String(s['state']), ...flags].join(' '),
      String(s['epoch'] ?? '-'),
      String(s['headSeq']),
      String(applied),
      lag.entries,
      lag.seconds.toFixed(3),
      rate,
      String(s['lastError'] ?? ''),
    ];
  });
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS), ...rows.map(line)];
}
