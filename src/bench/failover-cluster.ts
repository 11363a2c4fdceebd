/**
 * The two served nodes of a failover measurement, on one cluster id over the setup's
 * stores: slot `a` starts as the writer (`--role primary`, or `auto` winning the empty
 * leader key), slot `b` as its standby (`standby`, or `auto`). After each kill the dead
 * slot is started again as a standby — a new process with a fresh snapshot directory,
 * which replays the log — so that every run kills a primary with a caught-up standby
 * beside it, and the two slots take turns.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { OplogClient } from '../client/oplog-client.js';
import type { StoreConfig } from '../config/types.js';
import { ServedNode } from './served-node.js';

export type FailoverMode = 'manual' | 'automatic';

/** How long a node may take to write (started as the primary) or to follow the log. */
export const NODE_READY_TIMEOUT_MS = 90_000;

/** A store as `oplog serve --store` takes it. */
export function storeUrl(config: StoreConfig): string {
  switch (config.kind) {
    case 'file':
      return `file:${config.dataDir}`;
    case 'etcd':
      return `etcd://${config.hosts.join(',')}?prefix=${config.prefix}`;
    case 'kafka':
      return `kafka://${config.brokers.join(',')}?topicPrefix=${config.topicPrefix}`;
  }
}

interface Slot {
  readonly name: 'a' | 'b';
  incarnation: number;
  node: ServedNode | undefined;
}

export class FailoverCluster {
  private readonly slots: [Slot, Slot] = [
    { name: 'a', incarnation: 0, node: undefined },
    { name: 'b', incarnation: 0, node: undefined },
  ];
  /** Index of the slot that writes. */
  private writerIndex = 0;

  constructor(
    private readonly options: {
      readonly mode: FailoverMode;
      readonly clusterId: string;
      readonly stores: readonly StoreConfig[];
      /** Where the nodes' snapshot directories go. */
      readonly dir: string;
    },
  ) {}

  get primary(): ServedNode {
    return this.nodeOf(this.writerIndex);
  }

  get standby(): ServedNode {
    return this.nodeOf(1 - this.writerIndex);
  }

  /** Starts the writer, waits until it writes, then its standby, and waits until that follows. */
  async start(): Promise<void> {
    await this.startSlot(0, this.options.mode === 'manual' ? 'primary' : 'auto');
    await untilStatus(this.nodeOf(0), 'writing', (s) => s['writing'] === true);
    await this.startSlot(1, this.options.mode === 'manual' ? 'standby' : 'auto');
    await this.untilStandbyFollows();
  }

  /** The standby is watching the log: neither degraded nor divergent. */
  async untilStandbyFollows(): Promise<void> {
    await untilStatus(
      this.standby,
      'watching the log',
      (s) => s['state'] === 'watching' && s['degraded'] === false && s['divergent'] === false,
    );
  }

  /** The primary was killed and the standby took over: the standby's slot writes now. */
  promoted(): void {
    this.writerIndex = 1 - this.writerIndex;
  }

  /** Starts the dead slot again, as a standby (role `standby`, or `auto`). */
  async replaceDead(): Promise<void> {
    const index = 1 - this.writerIndex;
    if (this.slots[index]!.node?.alive === true)
      throw new Error('failover: the standby slot is still running');
    await this.startSlot(index, this.options.mode === 'manual' ? 'standby' : 'auto');
  }

  /** Stops every node still running (SIGTERM, SIGKILL after 5 s). */
  async stop(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.node?.stop(5_000)));
  }

  private nodeOf(index: number): ServedNode {
    const node = this.slots[index]!.node;
    if (node === undefined) throw new Error(`failover: slot ${this.slots[index]!.name} was never started`);
    return node;
  }

  private async startSlot(index: number, role: 'primary' | 'standby' | 'auto'): Promise<void> {
    const slot = this.slots[index]!;
    slot.incarnation++;
    const nodeId = `${slot.name}${slot.incarnation}`;
    slot.node = await ServedNode.start([
      '--cluster',
      this.options.clusterId,
      ...this.options.stores.flatMap((s) => ['--store', storeUrl(s)]),
      '--role',
      role,
      '--node-id',
      nodeId,
      '--http',
      '127.0.0.1:0',
      '--snapshot-dir',
      join(this.options.dir, nodeId),
      '--log-level',
      'info',
    ]);
  }
}

/** Polls `node`'s GET /v1/status until `ready` accepts it (bounded; the error names the wait and the node's last lines). */
export async function untilStatus(
  node: ServedNode,
  what: string,
  ready: (status: Record<string, unknown>) => boolean,
  timeoutMs = NODE_READY_TIMEOUT_MS,
): Promise<Record<string, unknown>> {
  const client = new OplogClient({ urls: [node.url], timeoutMs: 3_000 });
  const until = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const status = await client.status();
      if (ready(status)) return status;
      last = status;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (!node.alive || performance.now() > until)
      throw new Error(
        `failover: ${node.url} not ${what} ${node.alive ? `within ${timeoutMs} ms` : '(it exited)'}; last status ${JSON.stringify(last)}; its last lines: ${node.describeTail()}`,
      );
    await sleep(50);
  }
}
