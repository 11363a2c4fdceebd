/**
 * One `oplog serve` node as a child process of the bench, started as the HTTP scenario
 * starts its served primary (the same entry point, under tsx or built): flags on the
 * command line, `--http 127.0.0.1:0`, JSON log lines on stdout. The node is known by its
 * `listening` line's URL; its `state changed` lines (with pino's `time`, wall-clock ms)
 * are kept, so a failover can be split into the parts the node itself logs.
 *
 * The child gets this process's environment without its `OPLOG_*` variables: a node the
 * bench measures runs on the defaults the results record, whatever the shell exported.
 * Every wait is bounded; a child never outlives the bench (stop() and kill9() wait for
 * its exit, and an exit hook kills what is left).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cliMain } from './scenarios/http.js';

/** How long a node may take to log its listening URL. */
export const NODE_START_TIMEOUT_MS = 60_000;
/** Log lines kept per node (a node under the bench logs a few dozen). */
const LOG_LINES_MAX = 5_000;

/** One `state changed` line: the node's lifecycle moved at `timeMs` (wall clock, ms). */
export interface StateLine {
  readonly timeMs: number;
  readonly from: string;
  readonly to: string;
  readonly event: string;
}

const live = new Set<ChildProcess>();
let exitHook = false;

export class ServedNode {
  /** Every `state changed` line so far (at most LOG_LINES_MAX). */
  readonly states: StateLine[] = [];
  /** The last output lines (stdout and stderr), for an error message. */
  private readonly tail: string[] = [];
  private listeningUrl: string | undefined;
  private onListening: (() => void) | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    track(child);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
        this.line(buffered.slice(0, at));
        buffered = buffered.slice(at + 1);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => this.keep(chunk.toString()));
  }

  /** Starts `oplog serve ARGS`; resolves once it listens, rejects if it exits first or after `timeoutMs`. */
  static async start(args: readonly string[], timeoutMs = NODE_START_TIMEOUT_MS): Promise<ServedNode> {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('OPLOG_')),
    );
    const node = new ServedNode(
      spawn(process.execPath, [...process.execArgv, cliMain(), 'serve', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      new Promise<'listening'>((resolve) => (node.onListening = () => resolve('listening'))),
      node.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (outcome === 'listening') return node;
    await node.kill9();
    throw new Error(
      `bench: oplog serve ${outcome === 'exited' ? 'exited before listening' : `did not listen within ${timeoutMs} ms`}: ${node.describeTail()}`,
    );
  }

  /** `http://host:port`, from the listening line. */
  get url(): string {
    if (this.listeningUrl === undefined) throw new Error('bench: a served node used before it listened');
    return this.listeningUrl;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends SIGKILL; resolves once the process is gone. */
  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (the node drains), then SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Sends `signal` now, if the process is still there. */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** The first `state changed` line to `to` at or after `sinceMs` (wall clock), if logged yet. */
  stateAt(to: string, sinceMs: number): StateLine | undefined {
    return this.states.find((s) => s.to === to && s.timeMs >= sinceMs);
  }

  /** The node's last output lines, for an error message. */
  describeTail(): string {
    return this.tail.join(' | ');
  }

  private line(text: string): void {
    this.keep(text);
    const line = parseLine(text);
    if (line === undefined) return;
    const state = stateLine(line);
    if (state !== undefined && this.states.length < LOG_LINES_MAX) this.states.push(state);
    if (this.listeningUrl === undefined && line['msg'] === 'listening' && typeof line['url'] === 'string') {
      this.listeningUrl = line['url'];
      this.onListening?.();
    }
  }

  private keep(text: string): void {
    this.tail.push(text.slice(0, 500));
    if (this.tail.length > 20) this.tail.shift();
  }
}

function parseLine(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function stateLine(line: Record<string, unknown>): StateLine | undefined {
  const { msg, time, from, to, event } = line;
  if (msg !== 'state changed' || typeof time !== 'number' || typeof to !== 'string') return undefined;
  return { timeMs: time, from: String(from), to, event: String(event) };
}

/** Kills every child still running when the bench process exits, however it exits. */
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}
