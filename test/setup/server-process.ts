/**
 * What the test servers (etcd, Kafka) share: a free loopback port, and a child process
 * that is killed when this process exits however it exits, can be kill -9'd or stopped,
 * and is waited for until it is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
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

export abstract class ServerProcess {
  protected child: ChildProcess | undefined;

  /**
   * Spawns the server with its output appended to `logPath`. It is killed when this
   * process exits (a bench or test that throws must not leave a broker or an etcd
   * running); nothing can catch a kill -9 of this process.
   */
  protected spawnServer(command: string, args: readonly string[], logPath: string): ChildProcess {
    const log = openSync(logPath, 'a');
    const child = spawn(command, [...args], { stdio: ['ignore', log, log] });
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
    this.child = child;
    return child;
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }
}
