/**
 * The faults, each against real processes or real stored bytes (DESIGN.md "Tests":
 * kill -9, SIGSTOP/SIGCONT, server restarts, a proxy that cuts or slows traffic,
 * flipped bytes). `inject` does the damage and returns how to heal it; the runner holds
 * the fault for a while, heals, and health-checks the cluster before and after.
 *
 * - `kill-primary`: kill -9 of the writing node; healed by starting it again (a standby
 *   of whoever took over).
 * - `pause-primary`: SIGSTOP of the writing node for longer than its lease (2 s), so
 *   another node takes over while it is frozen; SIGCONT, and the zombie must be fenced.
 * - `restart-etcd-member`: kill -9 of the etcd member that leads raft (so the fault
 *   bites: an election, calls in flight lost), started again on its data after the
 *   hold; the nodes must keep writing through the other two members.
 * - `restart-etcd`: kill -9 of every etcd member, all started again on their data.
 * - `restart-kafka`: kill -9 of the broker, started again on its data.
 * - `net-blackhole`, `net-delay`, `net-lossy`: the proxies between the etcd-following
 *   standby and the etcd members, all switched at once (fault-proxy.ts).
 * - `corrupt-etcd`, `corrupt-kafka`: a flipped byte in a stored record that a follower
 *   of that store has not yet covered by a snapshot; the follower is kill -9'd before
 *   and started after, so it must read the damaged record again, detect it and repair
 *   it from the other store. The damage stays.
 * - `long-gap`: the etcd follower kill -9'd, then a run of etcd records past what it had
 *   applied deleted, several times its pending buffer long (cluster.ts
 *   PENDING_ENTRIES_MAX), and the follower started again: it must see the hole, keep its
 *   buffer bounded, fetch the range from Kafka and go on with no skip.
 * - `empty-standby`: a node started with an empty snapshot directory and `--peer`, so it
 *   bootstraps from a peer's snapshot mid-run.
 */
import type { ChaosNode, Cluster, NodeSpec } from './cluster.js';
import type { Random } from './fault-proxy.js';
import { longGap } from './long-gap.js';
import { takeDown, waitStatus } from './take-down.js';
import { flipEtcdRecord, flipKafkaRecord } from './record-damage.js';

export const FAULT_KINDS = [
  'kill-primary',
  'pause-primary',
  'restart-etcd-member',
  'restart-etcd',
  'restart-kafka',
  'net-blackhole',
  'net-delay',
  'net-lossy',
  'corrupt-etcd',
  'corrupt-kafka',
  'empty-standby',
  'long-gap',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultContext {
  readonly cluster: Cluster;
  readonly random: Random;
  /** The node that follows etcd through the proxy. */
  readonly etcdFollower: string;
  /** The node the empty-standby fault (re)creates. */
  readonly emptyNode: NodeSpec;
  /** When the workload's appends acknowledged between two times were acknowledged (Date.now() ms, in order). */
  readonly ackedBetween: (fromMs: number, toMs: number) => readonly number[];
}

export interface Injected {
  /** What was done, for the report: which node, which seq. */
  readonly detail: string;
  /** The writer that was taken away, when the fault took it (a failover is due). */
  readonly writerTaken?: { readonly node: string; readonly epoch: bigint };
  /** Undoes what can be undone; says what it found (e.g. the zombie's fate). */
  heal(): Promise<string | undefined>;
  /** Once the cluster is healthy again: what the fault was seen to do (a corruption detected?). */
  verify?(): Promise<string>;
  /** After verify: undoes stored damage (record-damage.ts), so faults do not pile up into a double fault. */
  restore?(): Promise<string>;
}

/** How long each fault is held before healing, in ms: [min, max]. */
export const HOLD_MS: Readonly<Record<FaultKind, readonly [number, number]>> = {
  'kill-primary': [4_000, 7_000],
  'pause-primary': [5_000, 8_000],
  // Longer than the store's 5 s call deadline, which an append caught at the dead leader
  // waits out: what follows is the cluster writing through two members.
  'restart-etcd-member': [6_000, 9_000],
  'restart-etcd': [2_000, 5_000],
  'restart-kafka': [2_000, 5_000],
  'net-blackhole': [6_000, 10_000],
  'net-delay': [6_000, 10_000],
  'net-lossy': [6_000, 10_000],
  'corrupt-etcd': [1_000, 2_000],
  'corrupt-kafka': [1_000, 2_000],
  'empty-standby': [1_000, 2_000],
  // After the writer got past the hole (its inject waits for that), the follower stays
  // down a moment more: the hole is what it meets, not the wait.
  'long-gap': [1_000, 2_000],
};

export function inject(kind: FaultKind, ctx: FaultContext): Promise<Injected> {
  switch (kind) {
    case 'kill-primary':
      return killPrimary(ctx);
    case 'pause-primary':
      return pausePrimary(ctx);
    case 'restart-etcd-member':
      return restartEtcdMember(ctx);
    case 'restart-etcd':
      return restartEtcd(ctx);
    case 'restart-kafka':
      return restartKafka(ctx);
    case 'net-blackhole':
    case 'net-delay':
    case 'net-lossy':
      return network(kind, ctx);
    case 'corrupt-etcd':
    case 'corrupt-kafka':
      return corrupt(kind === 'corrupt-etcd' ? 'etcd' : 'kafka', ctx);
    case 'empty-standby':
      return emptyStandby(ctx);
    case 'long-gap':
      return longGap(ctx);
  }
}

async function theWriter(cluster: Cluster): Promise<{ node: ChaosNode; epoch: bigint }> {
  const writers = await cluster.writers();
  if (writers.length !== 1)
    throw new Error(
      `expected one writing node, found ${writers.map((w) => w.node.name).join(', ') || 'none'}`,
    );
  return writers[0]!;
}

async function killPrimary({ cluster }: FaultContext): Promise<Injected> {
  const { node, epoch } = await theWriter(cluster);
  await node.kill9();
  return {
    detail: `kill -9 ${node.name} (writing at epoch ${epoch})`,
    writerTaken: { node: node.name, epoch },
    heal: async () => {
      await node.start();
      return `${node.name} started again`;
    },
  };
}

async function pausePrimary({ cluster }: FaultContext): Promise<Injected> {
  const { node, epoch } = await theWriter(cluster);
  node.pause();
  return {
    detail: `SIGSTOP ${node.name} (writing at epoch ${epoch}, lease 2 s)`,
    writerTaken: { node: node.name, epoch },
    heal: async () => {
      node.resume();
      // The zombie wakes: a newer epoch must fence its writer (its state becomes stopped).
      const deadline = Date.now() + 15_000;
      for (;;) {
        const status = await node.status();
        const writers = await cluster.writers();
        const other = writers.find((w) => w.node !== node);
        if (status !== undefined && other !== undefined && !status.writing) {
          await node.stop();
          await node.start();
          return `SIGCONT: ${node.name} fenced (state ${status.state}) by ${other.node.name} at epoch ${other.epoch}; restarted as a standby`;
        }
        if (status?.writing === true && other === undefined)
          return `SIGCONT: no other node took over; ${node.name} still writes at epoch ${status.epoch}`;
        if (Date.now() > deadline)
          return `SIGCONT: after 15 s ${node.name} is ${status?.state ?? 'not answering'}, writers: ${writers.map((w) => `${w.node.name}@${w.epoch}`).join(', ')}`;
        await sleep(250);
      }
    },
  };
}

async function restartEtcdMember({ cluster, ackedBetween }: FaultContext): Promise<Injected> {
  const etcd = cluster.etcd;
  const member = await etcd.leader();
  await member.kill9();
  const killedMs = Date.now();
  let launchedMs = killedMs;
  return {
    detail: `kill -9 etcd member ${member.name} (the raft leader; ${etcd.members.length - 1} members left)`,
    heal: async () => {
      launchedMs = Date.now();
      await member.launch();
      const leader = await etcd.waitHealthy();
      return `${member.name} started again on its data; ${leader.name} leads`;
    },
    verify: async () => {
      const acked = ackedBetween(killedMs, launchedMs);
      const first = acked[0] === undefined ? 'none' : `the first ${acked[0] - killedMs} ms after the kill`;
      return `${acked.length} appends acknowledged while ${member.name} was down (${launchedMs - killedMs} ms; ${first})`;
    },
  };
}

async function restartEtcd({ cluster }: FaultContext): Promise<Injected> {
  const members = cluster.etcd.members;
  await Promise.all(members.map((m) => m.kill9()));
  return {
    detail: `kill -9 every etcd member (${members.map((m) => m.name).join(', ')})`,
    heal: async () => {
      // At once: a member is healthy only once a quorum of them runs.
      for (const member of members) member.spawn();
      const leader = await cluster.etcd.waitHealthy();
      return `every etcd member started again on its data; ${leader.name} leads`;
    },
  };
}

async function restartKafka({ cluster }: FaultContext): Promise<Injected> {
  await cluster.kafka.kill9();
  return {
    detail: 'kill -9 kafka',
    heal: async () => {
      await cluster.kafka.launch();
      return 'kafka started again on its data';
    },
  };
}

async function network(
  kind: 'net-blackhole' | 'net-delay' | 'net-lossy',
  ctx: FaultContext,
): Promise<Injected> {
  const mode = kind === 'net-blackhole' ? 'blackhole' : kind === 'net-delay' ? 'delay' : 'lossy';
  ctx.cluster.setNetwork(mode);
  return {
    detail: `proxies between ${ctx.etcdFollower} and the etcd members: ${mode}`,
    heal: async () => {
      ctx.cluster.setNetwork('pass');
      return 'proxies pass again';
    },
  };
}

/**
 * Flips one byte in the body of a record of `store` past the follower's newest
 * snapshot (so that, started again, it must read that record), with the follower down.
 */
async function corrupt(store: 'etcd' | 'kafka', ctx: FaultContext): Promise<Injected> {
  const { cluster, random } = ctx;
  const follower = await followerOf(store, ctx);
  const { status, handedOver } = await takeDown(follower);
  const afterSeq = BigInt(status.snapshotSeq);
  const damaged =
    store === 'etcd'
      ? await flipEtcdRecord(cluster, afterSeq, random)
      : await flipKafkaRecord(cluster, afterSeq, random);
  return {
    detail: `${handedOver}flipped byte ${damaged.byteIndex} of the ${store} record at seq ${damaged.firstSeq} (${damaged.copies} stored copies; ${follower.name} follows ${store}, its snapshot is at ${afterSeq}); ${follower.name} restarted to read it`,
    heal: async () => {
      await follower.start();
      return `${follower.name} started again`;
    },
    verify: async () => {
      // Healthy is not enough: a node just started says `watching` before it has read
      // the head (seen: applied 1736 of a head past 2600, the damage at 1737 just met).
      const after = await waitStatus(
        follower,
        (st) => BigInt(st.appliedSeq) >= damaged.firstSeq,
        30_000,
      ).catch(() => follower.status());
      if (after === undefined) return `${follower.name} does not answer`;
      const applied = BigInt(after.appliedSeq);
      return after.corruptRecords > 0 && applied >= damaged.firstSeq
        ? `detected (${after.corruptRecords} corrupt record reads) and repaired: ${follower.name} applied through ${applied}`
        : `NOT detected: ${follower.name} counts ${after.corruptRecords} corrupt records, applied through ${applied}`;
    },
    restore: () => damaged.restore(),
  };
}

/** The etcd follower, or for Kafka a non-writing node that follows Kafka. */
async function followerOf(store: 'etcd' | 'kafka', ctx: FaultContext): Promise<ChaosNode> {
  if (store === 'etcd') return ctx.cluster.node(ctx.etcdFollower);
  const writing = new Set((await ctx.cluster.writers()).map((w) => w.node));
  const candidates = [...ctx.cluster.nodes.values()].filter(
    (n) => n.alive && !writing.has(n) && n.spec.source === 'kafka',
  );
  if (candidates.length === 0) throw new Error('no live, non-writing node follows Kafka');
  return candidates[Math.floor(ctx.random() * candidates.length)]!;
}

async function emptyStandby(ctx: FaultContext): Promise<Injected> {
  const { cluster, random, emptyNode } = ctx;
  const node = cluster.nodes.get(emptyNode.name) ?? (await cluster.add(emptyNode));
  if (node.alive) await node.kill9();
  node.wipe();
  // A peer with a snapshot, when one has it (most have after the first 500 entries).
  const live = [...cluster.nodes.values()].filter((n) => n !== node && n.alive && !n.paused);
  const withSnapshot = [];
  for (const n of live) if (BigInt((await n.status())?.snapshotSeq ?? '0') > 0n) withSnapshot.push(n);
  const peers = withSnapshot.length > 0 ? withSnapshot : live;
  if (peers.length === 0) throw new Error('no live peer');
  const peer = peers[Math.floor(random() * peers.length)]!;
  node.peer = peer.name;
  await node.start();
  return {
    detail: `${node.name} started empty with --peer ${peer.name}`,
    heal: async () => undefined,
    verify: async () => {
      const installed = node.process?.logs.find((l) => l['msg'] === 'snapshot installed');
      const status = await node.status();
      return installed === undefined
        ? `no snapshot installed (the peer had none?): replayed the log, applied through ${status?.appliedSeq}`
        : `installed the snapshot at seq ${String(installed['lastSeq'])} from ${String(installed['source'])}, applied through ${status?.appliedSeq}`;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
