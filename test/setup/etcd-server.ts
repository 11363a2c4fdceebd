/**
 * Starts a real etcd as a child process on 127.0.0.1 (free ports, its own data dir),
 * for the global test setup and for fault tests that kill -9 and restart it on the
 * same data dir. Needs an `etcd` binary, which start() installs when it is missing
 * (test/setup/provisioning.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provision } from './provisioning.js';
import { freePort, ServerProcess } from './server-process.js';

/** Raft timing for a single local etcd (see launch()); docker-compose.yml and scripts/etcd.sh match. */
export const ETCD_TIMING_FLAGS = ['--heartbeat-interval=50', '--election-timeout=500'] as const;

export function findEtcd(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  if (path !== '') return path;
  return existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : undefined;
}

/** The etcd binary, installed first when it is missing (test/setup/provisioning.ts). */
export function provisionEtcd(): string {
  return provision({
    what: 'an etcd binary',
    find: findEtcd,
    script: 'etcd.sh',
    verb: 'install',
    install:
      'install etcd (Debian/Ubuntu: apt-get install etcd-server; or a release from https://github.com/etcd-io/etcd/releases)',
  });
}

export class EtcdServer extends ServerProcess {
  private constructor(
    private readonly binary: string,
    dir: string,
    readonly clientPort: number,
    private readonly peerPort: number,
  ) {
    super(dir);
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  /** Provisions the binary if missing, then starts on a new temp dir; stop() removes it. */
  static async start(): Promise<EtcdServer> {
    const binary = provisionEtcd();
    const ports = { client: await freePort(), peer: await freePort() };
    const server = new EtcdServer(
      binary,
      mkdtempSync(join(tmpdir(), 'oplog-etcd-')),
      ports.client,
      ports.peer,
    );
    return server.startOrRemove(() => server.launch());
  }

  /** Starts (again) on the same ports and data dir, and waits until it is healthy. */
  async launch(): Promise<void> {
    const name = 'oplog-test';
    const child = this.spawnServer(
      this.binary,
      [
        `--name=${name}`,
        `--data-dir=${join(this.dir, 'data')}`,
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
      join(this.dir, 'etcd.log'),
    );
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw this.failure(`etcd exited with ${child.exitCode}`);
      const healthy = await fetch(`http://${this.endpoint}/health`)
        .then(async (r) => (await r.json()) as { health?: string })
        .then((body) => body.health === 'true')
        .catch(() => false);
      if (healthy) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw this.failure('etcd did not become healthy within 30 s');
  }
}
