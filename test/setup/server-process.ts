/**
 * What the test servers (etcd, Kafka) share: a free loopback port, a temp dir of their
 * own that is removed when they stop, and a child process that is killed when this
 * process exits however it exits (a watchdog covers signals and kill -9 of this
 * process), can be kill -9'd or stopped, and is waited for until it is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/**
 * A detached shell that outlives us only by a second: once this process is gone (a
 * Ctrl-C or SIGTERM of the test run skips 'exit' handlers, and nothing runs after a
 * kill -9), it kills the server and removes its dir. It ends on its own, leaving the
 * dir, once the server is gone first (stop() removes the dir; kill9() keeps it).
 */
function watchdog(serverPid: number, dir: string): void {
  const script =
    'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
    'if ! kill -0 "$1" 2>/dev/null; then kill -9 "$2" 2>/dev/null; sleep 0.2; rm -rf "$3"; fi';
  const reaper = spawn('bash', ['-c', script, 'watchdog', String(process.pid), String(serverPid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  reaper.unref();
}

/** How much of a server's log an error about it quotes. */
const LOG_TAIL_LINES = 20;

export abstract class ServerProcess {
  protected child: ChildProcess | undefined;
  private logPath: string | undefined;
  private stopped = false;

  /**
   * A run that ends without stop() (a test or bench that throws) must not leave a
   * broker or an etcd running, nor its data behind (an etcd's dir is 62 MB); nothing
   * can catch a kill -9 of this process.
   */
  private readonly onExit = () => {
    const child = this.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.removeDir();
  };

  /** @param dir this server's own temp dir (data, config, log): stop() removes it. */
  protected constructor(readonly dir: string) {
    process.once('exit', this.onExit);
  }

  /**
   * Runs the server's first start; when that throws, stops the server and removes its
   * dir before rethrowing (errors from launch() quote the end of the log).
   */
  protected async startOrRemove(start: () => Promise<void>): Promise<this> {
    try {
      await start();
      return this;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Spawns the server with its output appended to `logPath` (inside `dir`). */
  protected spawnServer(command: string, args: readonly string[], logPath: string): ChildProcess {
    if (this.stopped) throw new Error(`${command}: cannot start again after stop(); its dir is gone`);
    const log = openSync(logPath, 'a');
    const child = spawn(command, [...args], { stdio: ['ignore', log, log] });
    closeSync(log); // the child has its own copy
    this.child = child;
    if (child.pid !== undefined) watchdog(child.pid, this.dir);
    this.logPath = logPath;
    return child;
  }

  /**
   * An error about this server that quotes the end of its logs (by default the one its
   * output goes to), because stop() removes them with the dir.
   */
  protected failure(message: string, logPaths: readonly (string | undefined)[] = [this.logPath]): Error {
    const tails = logPaths
      .filter((path) => path !== undefined && existsSync(path))
      .map((path) => {
        const lines = readFileSync(path!, 'utf8').trimEnd().split('\n');
        return `\n--- the end of ${path}:\n${lines.slice(-LOG_TAIL_LINES).join('\n')}`;
      });
    return new Error(`${message}${tails.join('')}`);
  }

  /** kill -9, and wait until the process is gone; the dir stays, to launch again on it. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM, wait until the process is gone, and remove the dir. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.signal('SIGTERM');
    process.removeListener('exit', this.onExit);
    this.removeDir();
  }

  private removeDir(): void {
    // maxRetries: a child killed a moment ago may still be closing files in it.
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }
}
