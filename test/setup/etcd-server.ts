/**
 * Starts a real etcd as a child process on 127.0.0.1 (free ports, its own data dir),
 * for the global test setup and for fault tests that kill -9 and restart it on the
 * same data dir. Needs an `etcd` binary (scripts/etcd.sh install).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Raft timing for a single local etcd (see launch()); docker-compose.yml and scripts/etcd.sh match. */
export const ETCD_TIMING_FLAGS = ['--heartbeat-interval=50', '--election-timeout=500'] as const;

export function findEtcd(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  if (path !== '') return path;
  return existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : undefined;
}

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

export class EtcdServer {
  private child: ChildProcess | undefined;

  private constructor(
    private readonly binary: string,
    readonly dataDir: string,
    readonly clientPort: number,
    private readonly peerPort: number,
  ) {}

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  static async start(): Promise<EtcdServer> {
    const binary = findEtcd();
    if (binary === undefined)
      throw new Error('no etcd binary: run scripts/etcd.sh install (or apt-get install etcd-server)');
    const server = new EtcdServer(
      binary,
      mkdtempSync(join(tmpdir(), 'oplog-etcd-')),
      await freePort(),
      await freePort(),
    );
    await server.launch();
    return server;
  }

  /** Starts (again) on the same ports and data dir, and waits until it is healthy. */
  async launch(): Promise<void> {
    const name = 'oplog-test';
    const log = openSync(join(this.dataDir, 'etcd.log'), 'a');
    this.child = spawn(
      this.binary,
      [
        `--name=${name}`,
        `--data-dir=${join(this.dataDir, 'data')}`,
        `--listen-client-urls=http://127.0.0.1:${this.clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${this.clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${this.peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${this.peerPort}`,
        `--initial-cluster=${name}=http://127.0.0.1:${this.peerPort}`,
        '--quota-backend-bytes=8589934592',
        // One node on loopback: heartbeats every 50 ms, elections after 500 ms. This also
        // sets etcd's smallest lease to 1 s (1.5 × the election timeout, rounded up);
        // with the defaults a 1 s lease would be granted as 2 s.
        ...ETCD_TIMING_FLAGS,
      ],
      { stdio: ['ignore', log, log] },
    );
    killOnExit(this.child);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(`etcd exited with ${this.child.exitCode}; see ${this.dataDir}/etcd.log`);
      const healthy = await fetch(`http://${this.endpoint}/health`)
        .then(async (r) => (await r.json()) as { health?: string })
        .then((body) => body.health === 'true')
        .catch(() => false);
      if (healthy) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd did not become healthy within 30 s; see ${this.dataDir}/etcd.log`);
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    await signalAndWait(this.child, signal);
  }
}

/**
 * Kills a server process when this process exits, however it exits (a bench or test
 * that throws must not leave a broker or an etcd running). Not for kill -9 of this
 * process, which nothing can catch.
 */
export function killOnExit(child: ChildProcess): void {
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

/** Sends `signal` to a server process that still runs, and waits until it has exited. */
export async function signalAndWait(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}
