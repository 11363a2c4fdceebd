/**
 * `oplog serve` as a child process, as a user runs it: src/cli/main.ts through tsx,
 * flags on the command line, JSON log lines on stdout. `start` resolves once the node
 * logged its listening URL (it asked for port 0, so the URL has the real port). A line
 * that is not JSON (`--log-pretty`) is kept as `{ msg: <the text>, unparsed: true }`;
 * `urlFrom` then says how to read the URL from the listening line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '../..');

export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  /** Lines on stderr (errors from the CLI itself). */
  readonly stderr: string[];
  /** Resolves with the first log line (past or future) that `match` accepts. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

/** The URL of a JSON `listening` line. */
const jsonListeningUrl = (line: Record<string, unknown>): string | undefined =>
  line['msg'] === 'listening' ? (line['url'] as string) : undefined;

export function runServe(
  args: readonly string[],
  env: Record<string, string> = {},
  urlFrom: (line: Record<string, unknown>) => string | undefined = jsonListeningUrl,
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repo, 'src/cli/main.ts'), 'serve', ...args],
    {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    },
  );
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }>();
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let at: number;
    while ((at = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text, unparsed: true };
      }
      logs.push(line);
      for (const waiter of [...waiters])
        if (waiter.match(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(...chunk.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLog = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 30_000) => {
    const seen = logs.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const waiter = { match, resolve: (l: Record<string, unknown>) => (clearTimeout(timer), resolve(l)) };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `no matching log line within ${timeoutMs} ms; stderr: ${stderr.join(' | ')}; last logs: ${JSON.stringify(logs.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  return Promise.race([
    waitForLog((l) => urlFrom(l) !== undefined),
    exited.then((code) => {
      throw new Error(
        `oplog serve exited (${code}) before listening: ${stderr.join(' | ')} ${JSON.stringify(logs.slice(-5))}`,
      );
    }),
  ]).then((listening) => ({
    url: urlFrom(listening)!,
    child,
    logs,
    stderr,
    waitForLog,
    exited,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  }));
}
