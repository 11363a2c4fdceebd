/** A node child process (test/roles/node-child.ts) driven over JSON lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { until } from '../helpers/waiting.js';

export type Message = Record<string, unknown>;

export class Node {
  readonly acked: [string, string, string][] = [];
  private readonly waiting: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  readonly child: ChildProcess;

  constructor(script: string, args: readonly string[], env: Readonly<Record<string, string>> = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as Message;
      if (Array.isArray(message['acked']))
        this.acked.push(...(message['acked'] as [string, string, string][]));
      const i = this.waiting.findIndex((w) => w.match(message));
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(message);
    });
  }

  next(key: string, timeoutMs = 60_000): Promise<Message> {
    return this.nextOf([key], timeoutMs);
  }

  /** The next message carrying any of `keys`. */
  nextOf(keys: readonly string[], timeoutMs = 60_000): Promise<Message> {
    const key = keys.join(' or ');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${key} from child within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.push({
        match: (m) => keys.some((k) => k in m),
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  async ask(command: string, key: string): Promise<Message> {
    const answer = this.next(key);
    this.child.stdin!.write(`${command}\n`);
    return answer;
  }

  async status(): Promise<NodeStatus> {
    return (await this.ask('status', 'status'))['status'] as NodeStatus;
  }

  async appliedSeq(): Promise<bigint> {
    return BigInt((await this.status()).appliedSeq ?? '0');
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** The node status fields the tests read. */
export interface NodeStatus {
  readonly state: string;
  readonly appliedSeq?: string;
}

/**
 * A primary and `standbyCount` standbys (test/roles/node-child.ts) on one cluster over
 * etcd + Kafka, all ready. `auto` turns automatic failover on.
 */
export class NodeCluster {
  readonly primary: Node;
  readonly standbys: Node[];

  private constructor(primary: Node, standbys: Node[]) {
    this.primary = primary;
    this.standbys = standbys;
  }

  static async start(options: {
    etcd: string;
    kafka: string;
    cluster: string;
    auto?: boolean;
    standbyCount?: number;
    /** Environment of every child (node-child.ts reads the OPLOG_TEST_* variables). */
    env?: Readonly<Record<string, string>>;
  }): Promise<NodeCluster> {
    const script = join(import.meta.dirname, 'node-child.ts');
    const args = (role: string) => [
      role,
      options.etcd,
      options.kafka,
      options.cluster,
      ...(options.auto ? ['auto'] : []),
    ];
    const primary = new Node(script, args('primary'), options.env);
    const standbys: Node[] = [];
    const cluster = new NodeCluster(primary, standbys);
    try {
      await primary.next('ready');
      for (let i = 0; i < (options.standbyCount ?? 2); i++)
        standbys.push(new Node(script, args('standby'), options.env));
      await Promise.all(standbys.map((s) => s.next('ready')));
    } catch (error) {
      cluster.kill();
      throw error;
    }
    return cluster;
  }

  /** Waits until some standby reports itself primary (automatic failover) and returns it. */
  async promotedStandby(timeoutMs = 30_000): Promise<Node> {
    let winner: Node | undefined;
    await until(
      async () => {
        for (const s of this.standbys) if ((await s.status()).state === 'primary') winner = s;
        return winner !== undefined;
      },
      'automatic failover',
      timeoutMs,
    );
    return winner!;
  }

  kill(): void {
    for (const node of [this.primary, ...this.standbys]) node.kill();
  }
}
