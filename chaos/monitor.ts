/**
 * Polls every node's `GET /v1/status` twice a second for the whole run and keeps what
 * the report and the checker need of each answer: who was writing at which epoch (the
 * failovers and their durations), and whether a node was degraded or divergent just
 * before it promoted. It also reads the nodes' own log lines (every incarnation's) for
 * what a status poll can miss between two polls: the ranges a node skipped and its
 * state changes, with their times.
 */
import type { Cluster, ChaosNode } from './cluster.js';
import type { Promotion, SeqRange } from './history.js';

export interface StatusSample {
  readonly atMs: number;
  readonly node: string;
  readonly incarnation: number;
  readonly state: string;
  readonly writing: boolean;
  readonly epoch: bigint | undefined;
  readonly appliedSeq: bigint;
  readonly degraded: boolean;
  readonly divergent: boolean;
}

const POLL_MS = 500;

export class Monitor {
  readonly samples: StatusSample[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly cluster: Cluster) {}

  start(): void {
    this.loop ??= (async () => {
      while (!this.stopped) {
        await Promise.all([...this.cluster.nodes.values()].map((node) => this.poll(node)));
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async poll(node: ChaosNode): Promise<void> {
    const incarnation = node.processes.length;
    const status = await node.status(POLL_MS * 2);
    if (status === undefined) return;
    this.samples.push({
      atMs: Date.now(),
      node: node.name,
      incarnation,
      state: status.state,
      writing: status.writing,
      epoch: status.epoch === null ? undefined : BigInt(status.epoch),
      appliedSeq: BigInt(status.appliedSeq),
      degraded: status.degraded,
      divergent: status.divergent,
    });
  }
}

/** The ranges each node logged as skipped (`range skipped`), over all its incarnations. */
export function skipsByNode(cluster: Cluster): Map<string, SeqRange[]> {
  const out = new Map<string, SeqRange[]>();
  for (const node of cluster.nodes.values()) {
    const ranges = node
      .logs()
      .filter(({ line }) => line['msg'] === 'range skipped')
      .map(({ line }) => ({
        fromSeq: BigInt(line['fromSeq'] as string),
        toSeq: BigInt(line['toSeq'] as string),
      }));
    out.set(node.name, ranges);
  }
  return out;
}

/**
 * Every promotion: a node's `state changed` line into `primary`, from its own log
 * (a status poll can be half a second old). Degraded means the node entered
 * `promoting` from `degraded`; divergent, that it had logged a skip or a checkpoint
 * mismatch in that incarnation with no snapshot installed since. The epoch is the first
 * status that shows the node writing after it (0 when none was polled before the node
 * went away).
 */
export function promotions(cluster: Cluster, samples: readonly StatusSample[]): Promotion[] {
  const out: Promotion[] = [];
  for (const node of cluster.nodes.values()) {
    const logs = node.logs();
    let fromState = '';
    let divergentSeen = false;
    let incarnation = 0;
    for (const { incarnation: at, line } of logs) {
      if (at !== incarnation) [incarnation, divergentSeen, fromState] = [at, false, ''];
      const msg = line['msg'];
      if (msg === 'range skipped' || msg === 'checkpoint mismatch: this node is divergent')
        divergentSeen = true;
      if (msg === 'snapshot installed') divergentSeen = false;
      if (msg !== 'state changed') continue;
      if (line['to'] === 'promoting') fromState = String(line['from']);
      if (line['to'] !== 'primary') continue;
      const atMs = Number(line['time']);
      const after = samples.find(
        (s) => s.node === node.name && s.incarnation === at && s.atMs >= atMs && s.writing,
      );
      out.push({
        node: node.name,
        epoch: after?.epoch ?? 0n,
        atMs,
        degraded: fromState === 'degraded',
        divergent: divergentSeen,
      });
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}
