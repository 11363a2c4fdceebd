/**
 * A real etcd cluster (three members by default) as child processes on 127.0.0.1, owned
 * by one test: free ports, a temp dir per member, and every member under the watchdog
 * each test server has (server-process.ts: it is killed and its dir removed when the
 * test process goes away, however it goes). The test asks which member leads (etcd's
 * maintenance status over the HTTP gateway, `POST /v3/maintenance/status`), kill -9s it,
 * and launches it again on its data dir, where it rejoins as the same member.
 * scripts/etcd.sh `up --members 3` starts the same cluster for development.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ETCD_TIMING_FLAGS, provisionEtcd } from './etcd-server.js';
import { freePort, ServerProcess } from './server-process.js';

/** What one member says of itself and of the cluster (its maintenance status). */
export interface MemberStatus {
  /** etcd's member id, a uint64 in decimal. */
  readonly memberId: string;
  /** The member id of the leader it follows; "0" when it knows of none. */
  readonly leaderId: string;
  readonly raftTerm: bigint;
  readonly raftIndex: bigint;
  readonly raftAppliedIndex: bigint;
}

/** How long one probe of a member (health, status) may take. */
const PROBE_TIMEOUT_MS = 1_000;

/** One member: started with the rest by EtcdCluster.start(), then kill9() and launch() again. */
export class EtcdMember extends ServerProcess {
  /** Its member id, learned from its status once the cluster first became healthy. */
  memberId: string | undefined;

  constructor(
    private readonly binary: string,
    dir: string,
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    private readonly initialCluster: { readonly members: string; readonly token: string },
  ) {
    super(dir);
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Starts the process and returns at once: a member of a new cluster is healthy only
   * once a quorum runs. On an existing data dir etcd ignores the initial-cluster flags
   * and rejoins as the member it was.
   */
  spawn(): void {
    this.spawnServer(
      this.binary,
      [
        `--name=${this.name}`,
        `--data-dir=${join(this.dir, 'data')}`,
        `--listen-client-urls=http://127.0.0.1:${this.clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${this.clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${this.peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${this.peerPort}`,
        `--initial-cluster=${this.initialCluster.members}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${this.initialCluster.token}`,
        '--quota-backend-bytes=8589934592',
        // The single test etcd's timing (etcd-server.ts): a new leader within about a
        // second of the old one's death on loopback.
        ...ETCD_TIMING_FLAGS,
      ],
      join(this.dir, 'etcd.log'),
    );
  }

  /** Starts it again on its ports and data dir (after kill9()), and waits until it is healthy. */
  async launch(timeoutMs = 30_000): Promise<void> {
    this.spawn();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.checkRunning();
      if (await this.healthy()) return;
      await sleep(100);
    }
    throw this.failure(`etcd member ${this.name} did not become healthy within ${timeoutMs} ms`);
  }

  /** etcd's /health: true once the member has a leader and answers a read. */
  async healthy(): Promise<boolean> {
    return fetch(`http://${this.endpoint}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
      .then(async (r) => (await r.json()) as { health?: string })
      .then((body) => body.health === 'true')
      .catch(() => false);
  }

  /** Its maintenance status; undefined when it does not answer within a second. */
  async status(): Promise<MemberStatus | undefined> {
    try {
      const response = await fetch(`http://${this.endpoint}/v3/maintenance/status`, {
        method: 'POST',
        body: '{}',
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      if (!response.ok) return undefined;
      const body = (await response.json()) as {
        header?: { member_id?: string };
        leader?: string;
        raftTerm?: string;
        raftIndex?: string;
        raftAppliedIndex?: string;
      };
      if (body.header?.member_id === undefined) return undefined;
      return {
        memberId: body.header.member_id,
        leaderId: body.leader ?? '0',
        raftTerm: BigInt(body.raftTerm ?? '0'),
        raftIndex: BigInt(body.raftIndex ?? '0'),
        raftAppliedIndex: BigInt(body.raftAppliedIndex ?? '0'),
      };
    } catch {
      return undefined;
    }
  }

  /** Throws, quoting its log, when the process has exited. */
  checkRunning(): void {
    if (this.child !== undefined && !this.running)
      throw this.failure(`etcd member ${this.name} exited (${this.child.exitCode ?? this.child.signalCode})`);
  }

  /** An error about this member that quotes the end of its log. */
  error(message: string): Error {
    return this.failure(`etcd member ${this.name}: ${message}`);
  }
}

export class EtcdCluster {
  private constructor(readonly members: readonly EtcdMember[]) {}

  /** Client endpoints, `127.0.0.1:<port>`, in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** `--store` for oplog serve: `etcd://h:p,h:p,h:p`. */
  get storeUrl(): string {
    return `etcd://${this.endpoints.join(',')}`;
  }

  /**
   * Provisions the binary if missing, starts `size` members on new temp dirs, and waits
   * until every member is healthy and they agree on a leader; stop() removes the dirs.
   */
  static async start({ size = 3, timeoutMs = 30_000 }: { size?: number; timeoutMs?: number } = {}) {
    const binary = provisionEtcd();
    const ports: { client: number; peer: number }[] = [];
    for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const initial = {
      members: ports.map((p, i) => `m${i + 1}=http://127.0.0.1:${p.peer}`).join(','),
      token: `oplog-test-${process.pid}-${Date.now()}`,
    };
    const members = ports.map(
      (p, i) =>
        new EtcdMember(
          binary,
          mkdtempSync(join(tmpdir(), `oplog-etcd-m${i + 1}-`)),
          `m${i + 1}`,
          p.client,
          p.peer,
          initial,
        ),
    );
    const cluster = new EtcdCluster(members);
    try {
      for (const member of members) member.spawn();
      await cluster.waitHealthy(timeoutMs);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /**
   * Waits until every member runs, says it is healthy and names the same leader, one
   * of them; returns that leader. Throws after `timeoutMs`, quoting the members' logs.
   */
  async waitHealthy(timeoutMs = 30_000): Promise<EtcdMember> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      for (const member of this.members) member.checkRunning();
      const [healthy, statuses] = await Promise.all([
        Promise.all(this.members.map((m) => m.healthy())),
        Promise.all(this.members.map((m) => m.status())),
      ]);
      statuses.forEach((s, i) => {
        if (s !== undefined) this.members[i]!.memberId = s.memberId;
      });
      const leaders = new Set(statuses.map((s) => s?.leaderId));
      const leader = this.members.find((m) => m.memberId === statuses[0]?.leaderId);
      if (healthy.every(Boolean) && leaders.size === 1 && leader !== undefined) return leader;
      last = `healthy ${JSON.stringify(healthy)}, leaders ${JSON.stringify([...leaders])}`;
      await sleep(100);
    }
    throw this.failure(`the etcd cluster did not become healthy within ${timeoutMs} ms (${last})`);
  }

  /**
   * The member that leads now: it runs, says it leads, and every other running member
   * that answers names it too. Waits (through an election) up to `timeoutMs`.
   */
  async leader(timeoutMs = 15_000): Promise<EtcdMember> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const running = this.members.filter((m) => m.running);
      const statuses = (await Promise.all(running.map((m) => m.status()))).filter(
        (s): s is MemberStatus => s !== undefined,
      );
      const named = new Set(statuses.map((s) => s.leaderId));
      const leader = running.find((m) => m.memberId !== undefined && m.memberId === statuses[0]?.leaderId);
      const selfLed = statuses.some((s) => s.memberId === s.leaderId && s.memberId === leader?.memberId);
      if (named.size === 1 && leader !== undefined && selfLed) return leader;
      await sleep(50);
    }
    throw this.failure(`no etcd member led within ${timeoutMs} ms`);
  }

  /** SIGTERM every member, wait until they are gone, and remove their dirs. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }

  private failure(message: string): Error {
    const logs = this.members.map((m) => m.error('log').message).join('\n');
    return new Error(`${message}\n${logs}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
