/**
 * The system under test, all real and on loopback: a 3-member etcd cluster and one
 * Kafka broker started by the test helpers (so a member, every member or the broker can
 * be kill -9'd and restarted on its data), and `oplog serve` nodes as child processes
 * (test/helpers/serve-process.ts) on both stores, each on a fixed port so a restarted
 * node keeps its URL. Every node is given all three members. One node reaches etcd
 * through a {@link FaultProxy} per member (the network faults switch them together) and
 * follows etcd, so the network faults sit between a standby and its source whichever
 * member its client talks to; the others follow Kafka and fetch gaps from etcd.
 *
 * A node is known by its name across restarts; each process is an incarnation, and the
 * log lines of every incarnation are kept for the history (skips, promotions).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runServe, type ServeProcess } from '../test/helpers/serve-process.js';
import { EtcdCluster } from '../test/setup/etcd-cluster.js';
import { KafkaServer } from '../test/setup/kafka-server.js';
import { freePort } from '../test/setup/server-process.js';
import { FaultProxy, type ProxyMode, type Random } from './fault-proxy.js';

export interface NodeSpec {
  readonly name: string;
  /** `auto` campaigns for the leader key; `standby` only follows. */
  readonly role: 'auto' | 'standby';
  readonly source: 'kafka' | 'etcd';
  /** Reach etcd through the cluster's fault proxy. */
  readonly viaProxy: boolean;
}

/** A node's status document, as far as the suite reads it. */
export interface NodeStatusDoc {
  readonly state: string;
  readonly writing: boolean;
  readonly epoch: string | null;
  readonly headSeq: string;
  readonly appliedSeq: string;
  readonly degraded: boolean;
  readonly divergent: boolean;
  readonly skippedEntries: string;
  readonly corruptRecords: number;
  readonly snapshotSeq: string;
  readonly lastError: string | null;
  readonly promotion: { readonly attempts: number; readonly lastError: string | null };
  readonly stores: readonly { kind: string; headSeq?: string; error?: string }[];
}

export class ChaosNode {
  /** Every incarnation's process, the current one last. */
  readonly processes: ServeProcess[] = [];
  paused = false;
  /** A node whose snapshot this one installs when it starts empty (`--peer`). */
  peer: string | undefined;

  constructor(
    readonly spec: NodeSpec,
    readonly port: number,
    readonly snapshotDir: string,
    private readonly args: () => string[],
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get process(): ServeProcess | undefined {
    return this.processes.at(-1);
  }

  get alive(): boolean {
    const child = this.process?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Log lines of every incarnation, in order, each with its incarnation (1 first). */
  logs(): { incarnation: number; line: Record<string, unknown> }[] {
    return this.processes.flatMap((p, i) => p.logs.map((line) => ({ incarnation: i + 1, line })));
  }

  async start(): Promise<void> {
    if (this.alive) throw new Error(`${this.name} is already running`);
    this.processes.push(await runServe(this.args()));
    this.paused = false;
  }

  async kill9(): Promise<void> {
    if (this.paused) this.process?.child.kill('SIGCONT');
    this.paused = false;
    await this.process?.stop('SIGKILL');
  }

  async stop(): Promise<void> {
    if (this.paused) this.process?.child.kill('SIGCONT');
    this.paused = false;
    await this.process?.stop('SIGTERM');
  }

  pause(): void {
    this.process?.child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    this.process?.child.kill('SIGCONT');
    this.paused = false;
  }

  /** Removes the node's snapshots: its next start is an empty node's. */
  wipe(): void {
    if (this.alive) throw new Error(`${this.name} is running: stop it before wiping it`);
    rmSync(this.snapshotDir, { recursive: true, force: true });
    mkdirSync(this.snapshotDir, { recursive: true });
  }

  /** GET /v1/status, or undefined when the node does not answer within `timeoutMs`. */
  async status(timeoutMs = 3_000): Promise<NodeStatusDoc | undefined> {
    if (!this.alive || this.paused) return undefined;
    try {
      const response = await fetch(`${this.url}/v1/status`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) return undefined;
      return (await response.json()) as NodeStatusDoc;
    } catch {
      return undefined;
    }
  }
}

export interface ClusterOptions {
  readonly dir: string;
  readonly clusterId: string;
  readonly random: Random;
  readonly nodes: readonly NodeSpec[];
}

/**
 * The standbys' pending buffer (`standby.applier.pendingEntriesMax`): small, so the
 * long-gap fault's hole is several times it (the default, 100,000, is never reached).
 */
export const PENDING_ENTRIES_MAX = 128;

/** Every node's config file. */
const NODE_CONFIG = {
  // Small numbers so a short run crosses many checkpoints and snapshots.
  failover: { leaseTtlS: 2 },
  checkpoints: { everyEntries: 200 },
  snapshots: { everyEntries: 500, keep: 2 },
  standby: { applier: { pendingEntriesMax: PENDING_ENTRIES_MAX } },
};

export class Cluster {
  readonly nodes = new Map<string, ChaosNode>();

  private constructor(
    readonly options: ClusterOptions,
    readonly etcd: EtcdCluster,
    readonly kafka: KafkaServer,
    /** One in front of each etcd member, in member order, for the nodes with `viaProxy`. */
    readonly proxies: readonly FaultProxy[],
    private readonly configFile: string,
  ) {}

  /** Starts etcd and Kafka (at once), the proxies, and writes the nodes' config; no node yet. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    mkdirSync(options.dir, { recursive: true });
    const [etcd, kafka] = await Promise.all([EtcdCluster.start({ size: 3 }), KafkaServer.start()]);
    const proxies = await Promise.all(
      etcd.members.map((m) => FaultProxy.start({ host: '127.0.0.1', port: m.clientPort }, options.random)),
    );
    const configFile = join(options.dir, 'node-config.json');
    writeFileSync(configFile, JSON.stringify(NODE_CONFIG));
    const cluster = new Cluster(options, etcd, kafka, proxies, configFile);
    for (const spec of options.nodes) await cluster.add(spec);
    // However this process ends (an exception, Ctrl-C via run.ts), no node outlives it;
    // the servers' own handlers (test/setup/server-process.ts) stop etcd and Kafka.
    process.once('exit', cluster.killNodes);
    return cluster;
  }

  /** Registers a node (not started): its port and snapshot dir are its own for the run. */
  async add(spec: NodeSpec): Promise<ChaosNode> {
    const port = await freePort();
    const snapshotDir = join(this.options.dir, `snapshots-${spec.name}`);
    mkdirSync(snapshotDir, { recursive: true });
    const node: ChaosNode = new ChaosNode(spec, port, snapshotDir, () => this.argsOf(node));
    this.nodes.set(spec.name, node);
    return node;
  }

  node(name: string): ChaosNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  /** Every proxy in front of etcd switched to `mode` at once: one network between n3 and etcd. */
  setNetwork(mode: ProxyMode): void {
    for (const proxy of this.proxies) proxy.set(mode);
  }

  get urls(): string[] {
    return [...this.nodes.values()].map((n) => n.url);
  }

  /** The live nodes whose status says they write, with their epochs. */
  async writers(): Promise<{ node: ChaosNode; epoch: bigint }[]> {
    const found = await Promise.all(
      [...this.nodes.values()].map(async (node) => {
        const status = await node.status();
        return status?.writing === true && status.epoch !== null
          ? { node, epoch: BigInt(status.epoch) }
          : undefined;
      }),
    );
    return found.filter((w) => w !== undefined);
  }

  /** kill -9 of every node's current process, synchronously (for an 'exit' handler). */
  private readonly killNodes = () => {
    for (const node of this.nodes.values()) if (node.alive) node.process?.child.kill('SIGKILL');
  };

  async stop(): Promise<void> {
    process.removeListener('exit', this.killNodes);
    await Promise.all([...this.nodes.values()].map((n) => n.kill9().catch(() => undefined)));
    await Promise.all(this.proxies.map((p) => p.close()));
    await Promise.all([this.etcd.stop(), this.kafka.stop()]);
  }

  private argsOf(node: ChaosNode): string[] {
    const { spec, port, snapshotDir } = node;
    const etcd = (spec.viaProxy ? this.proxies.map((p) => p.endpoint) : this.etcd.endpoints).join(',');
    const peer = node.peer === undefined ? [] : ['--peer', this.node(node.peer).url];
    return [
      '--config',
      this.configFile,
      '--cluster',
      this.options.clusterId,
      '--store',
      `etcd://${etcd}`,
      '--store',
      `kafka://${this.kafka.endpoint}`,
      '--source',
      spec.source,
      '--role',
      spec.role,
      '--node-id',
      spec.name,
      '--http',
      `127.0.0.1:${port}`,
      '--snapshot-dir',
      snapshotDir,
      ...peer,
    ];
  }
}
