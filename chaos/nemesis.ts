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
 * - `restart-etcd`, `restart-kafka`: kill -9 of the server, started again on its data.
 * - `net-blackhole`, `net-delay`, `net-lossy`: the proxy between the etcd-following
 *   standby and etcd (fault-proxy.ts).
 * - `corrupt-etcd`, `corrupt-kafka`: a flipped byte in a stored record that a follower
 *   of that store has not yet covered by a snapshot; the follower is kill -9'd before
 *   and started after, so it must read the damaged record again, detect it and repair
 *   it from the other store. The damage stays.
 * - `empty-standby`: a node started with an empty snapshot directory and `--peer`, so it
 *   bootstraps from a peer's snapshot mid-run.
 */
import { Etcd3, Range } from 'etcd3';
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ChaosNode, Cluster, NodeSpec, NodeStatusDoc } from './cluster.js';
import type { Random } from './fault-proxy.js';

export const FAULT_KINDS = [
  'kill-primary',
  'pause-primary',
  'restart-etcd',
  'restart-kafka',
  'net-blackhole',
  'net-delay',
  'net-lossy',
  'corrupt-etcd',
  'corrupt-kafka',
  'empty-standby',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultContext {
  readonly cluster: Cluster;
  readonly random: Random;
  /** The node that follows etcd through the proxy. */
  readonly etcdFollower: string;
  /** The node the empty-standby fault (re)creates. */
  readonly emptyNode: NodeSpec;
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
}

/** How long each fault is held before healing, in ms: [min, max]. */
export const HOLD_MS: Readonly<Record<FaultKind, readonly [number, number]>> = {
  'kill-primary': [4_000, 7_000],
  'pause-primary': [5_000, 8_000],
  'restart-etcd': [2_000, 5_000],
  'restart-kafka': [2_000, 5_000],
  'net-blackhole': [6_000, 10_000],
  'net-delay': [6_000, 10_000],
  'net-lossy': [6_000, 10_000],
  'corrupt-etcd': [1_000, 2_000],
  'corrupt-kafka': [1_000, 2_000],
  'empty-standby': [1_000, 2_000],
};

export function inject(kind: FaultKind, ctx: FaultContext): Promise<Injected> {
  switch (kind) {
    case 'kill-primary':
      return killPrimary(ctx);
    case 'pause-primary':
      return pausePrimary(ctx);
    case 'restart-etcd':
      return restartServer('etcd', ctx);
    case 'restart-kafka':
      return restartServer('kafka', ctx);
    case 'net-blackhole':
    case 'net-delay':
    case 'net-lossy':
      return network(kind, ctx);
    case 'corrupt-etcd':
    case 'corrupt-kafka':
      return corrupt(kind === 'corrupt-etcd' ? 'etcd' : 'kafka', ctx);
    case 'empty-standby':
      return emptyStandby(ctx);
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

async function restartServer(which: 'etcd' | 'kafka', { cluster }: FaultContext): Promise<Injected> {
  const server = which === 'etcd' ? cluster.etcd : cluster.kafka;
  await server.kill9();
  return {
    detail: `kill -9 ${which}`,
    heal: async () => {
      await server.launch();
      return `${which} started again on its data`;
    },
  };
}

async function network(
  kind: 'net-blackhole' | 'net-delay' | 'net-lossy',
  ctx: FaultContext,
): Promise<Injected> {
  const mode = kind === 'net-blackhole' ? 'blackhole' : kind === 'net-delay' ? 'delay' : 'lossy';
  ctx.cluster.proxy.set(mode);
  return {
    detail: `proxy between ${ctx.etcdFollower} and etcd: ${mode}`,
    heal: async () => {
      ctx.cluster.proxy.set('pass');
      return 'proxy passes again';
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
  let status = await follower.status();
  if (status === undefined) throw new Error(`${follower.name} does not answer`);
  // A single fault, not a crash of the writer too: a writing follower hands over first
  // (SIGTERM drains and gives the leader key up), and the corruption follows.
  let handedOver = '';
  if (status.writing) {
    await follower.stop();
    await follower.start();
    status = await waitStatus(follower, (s) => s.state === 'watching' && !s.writing);
    handedOver = `${follower.name} was writing: stopped (SIGTERM) and started again first; `;
  }
  const afterSeq = BigInt(status.snapshotSeq);
  await follower.kill9();
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
      const after = await follower.status();
      if (after === undefined) return `${follower.name} does not answer`;
      const applied = BigInt(after.appliedSeq);
      return after.corruptRecords > 0 && applied >= damaged.firstSeq
        ? `detected (${after.corruptRecords} corrupt record reads) and repaired: ${follower.name} applied through ${applied}`
        : `NOT detected: ${follower.name} counts ${after.corruptRecords} corrupt records, applied through ${applied}`;
    },
  };
}

async function waitStatus(
  node: ChaosNode,
  ready: (status: NodeStatusDoc) => boolean,
  timeoutMs = 60_000,
): Promise<NodeStatusDoc> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await node.status();
    if (status !== undefined && ready(status)) return status;
    if (Date.now() > deadline)
      throw new Error(`${node.name} is ${status?.state ?? 'not answering'} after ${timeoutMs} ms`);
    await sleep(250);
  }
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

/** Record bytes: a 52-byte header, then the body; a flip in the body fails its xxh64. */
const HEADER_BYTES = 52;

async function flipEtcdRecord(cluster: Cluster, afterSeq: bigint, random: Random) {
  const prefix = `/oplog/${cluster.options.clusterId}/log/`;
  const client = new Etcd3({ hosts: `http://${cluster.etcd.endpoint}` });
  try {
    const from = `${prefix}${(afterSeq + 1n).toString().padStart(20, '0')}`;
    const keys = await client
      .getAll()
      .inRange(new Range(from, `${prefix}~`))
      .limit(50)
      .keys();
    if (keys.length === 0) throw new Error(`no etcd record past seq ${afterSeq}`);
    const key = keys[Math.floor(random() * keys.length)]!;
    const bytes = await client.get(key).buffer();
    if (bytes === null || bytes.length <= HEADER_BYTES) throw new Error(`etcd record ${key} is too short`);
    const byteIndex = HEADER_BYTES + Math.floor(random() * (bytes.length - HEADER_BYTES));
    const damaged = Buffer.from(bytes);
    damaged[byteIndex]! ^= 0x20;
    await client.put(key).value(damaged);
    return { firstSeq: BigInt(key.slice(prefix.length)), byteIndex, copies: 1 };
  } finally {
    client.close();
  }
}

/**
 * Kafka holds each record as one message's value, byte for byte as etcd does: the
 * etcd copy of a record past `afterSeq` is found in the broker's segment files and one
 * body byte flipped in place (kafkajs does not check the batch CRC; our checksum does).
 */
async function flipKafkaRecord(cluster: Cluster, afterSeq: bigint, random: Random) {
  const prefix = `/oplog/${cluster.options.clusterId}/log/`;
  const client = new Etcd3({ hosts: `http://${cluster.etcd.endpoint}` });
  let record: Buffer;
  let firstSeq: bigint;
  try {
    const from = `${prefix}${(afterSeq + 1n).toString().padStart(20, '0')}`;
    const found = await client
      .getAll()
      .inRange(new Range(from, `${prefix}~`))
      .limit(50)
      .buffers();
    const keys = Object.keys(found);
    if (keys.length === 0) throw new Error(`no record past seq ${afterSeq}`);
    const key = keys[Math.floor(random() * keys.length)]!;
    record = found[key]!;
    firstSeq = BigInt(key.slice(prefix.length));
  } finally {
    client.close();
  }
  // Every copy: a transaction aborted and retried leaves one the readers skip.
  const dir = join(cluster.kafka.dir, 'logs', `oplog.${cluster.options.clusterId}-0`);
  const byteIndex = HEADER_BYTES + Math.floor(random() * (record.length - HEADER_BYTES));
  let copies = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
    const path = join(dir, file);
    const segment = readFileSync(path);
    for (let at = segment.indexOf(record); at >= 0; at = segment.indexOf(record, at + 1)) {
      flipByteInFile(path, at + byteIndex);
      copies++;
    }
  }
  if (copies === 0) throw new Error(`the record at seq ${firstSeq} is in no segment of ${dir}`);
  return { firstSeq, byteIndex, copies };
}

function flipByteInFile(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    byte[0]! ^= 0x20;
    writeSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
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
