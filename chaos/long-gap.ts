/**
 * The `long-gap` fault: a hole in the etcd follower's source, several times its pending
 * buffer long, with the good copy in Kafka. The follower is kill -9'd (after handing
 * over if it wrote), a run of etcd records past what it had applied is deleted once the
 * writer has moved past it (record-damage.ts deleteEtcdRun), and the follower is started
 * again. It replays from its snapshot, reaches the hole — the etcd store never skips
 * one: its read ends there with CorruptStoreError "records … are missing" — and must
 * fetch the range from Kafka (its fetch store), keep its pending buffer within
 * PENDING_ENTRIES_MAX, and go on through the hole with nothing skipped. Its status and
 * /metrics are sampled while it catches up, and verify() says what was seen.
 *
 * What it does not do: fill the pending buffer. Neither store ever delivers a record
 * past a hole (the etcd read fails at it; the repair reads the whole range from Kafka in
 * order), so no entry arrives ahead of the gap to be held; the runs so far sampled 0
 * pending entries. The bound is checked anyway (a sampled gauge, so a brief excursion
 * between samples would be missed); overflow itself is the applier's scenario tests'.
 */
import { PENDING_ENTRIES_MAX, type ChaosNode } from './cluster.js';
import type { FaultContext, Injected } from './nemesis.js';
import { takeDown } from './take-down.js';
import { deleteEtcdRun, type Hole } from './record-damage.js';

/** The hole: this many entries' worth of records, four times the pending buffer. */
const HOLE_ENTRIES = 4 * PENDING_ENTRIES_MAX;
/** Entries left between what the follower had applied and the hole (it applied a few more before the kill). */
const LEAD_ENTRIES = 64;
/** How long the writer may take to write past the hole, and the follower to get through it. */
const WAIT_MS = 90_000;
const SAMPLE_MS = 100;

/** What the follower was seen to do while it caught up through the hole. */
interface Seen {
  pendingEntriesMax: number;
  samples: number;
  gapsOpened: number;
  gapsFilled: number;
  corruptRecords: number;
  appliedSeq: bigint;
  skippedEntries: bigint;
  divergent: boolean;
  caughtUpMs: number | undefined;
}

export async function longGap(ctx: FaultContext): Promise<Injected> {
  const follower = ctx.cluster.node(ctx.etcdFollower);
  const { status, handedOver } = await takeDown(follower);
  const appliedSeq = BigInt(status.appliedSeq);
  const hole = await deleteEtcdRun(ctx.cluster, {
    fromSeq: appliedSeq + 1n + BigInt(LEAD_ENTRIES),
    entries: HOLE_ENTRIES,
    timeoutMs: WAIT_MS,
  });
  const entries = hole.toSeq - hole.fromSeq + 1n;
  let watching: Promise<Seen> | undefined;
  return {
    detail: `${handedOver}${follower.name} kill -9'd (applied through ${appliedSeq}, snapshot at ${status.snapshotSeq}); deleted etcd records ${hole.fromSeq}..${hole.toSeq} (${entries} entries in ${hole.records} records; pending buffer ${PENDING_ENTRIES_MAX})`,
    heal: async () => {
      await follower.start();
      watching = watchThrough(follower, hole);
      return `${follower.name} started again`;
    },
    verify: async () => describe(follower.name, hole, await watching!),
    restore: () => hole.restore(),
  };
}

/** Samples the follower's status and /metrics until it has applied through the hole (or WAIT_MS). */
async function watchThrough(node: ChaosNode, hole: Hole): Promise<Seen> {
  const startMs = Date.now();
  const seen: Seen = {
    pendingEntriesMax: 0,
    samples: 0,
    gapsOpened: 0,
    gapsFilled: 0,
    corruptRecords: 0,
    appliedSeq: 0n,
    skippedEntries: 0n,
    divergent: false,
    caughtUpMs: undefined,
  };
  while (Date.now() - startMs < WAIT_MS) {
    const [status, metrics] = await Promise.all([node.status(), scrape(node)]);
    if (status !== undefined && metrics !== undefined) {
      seen.samples++;
      seen.pendingEntriesMax = Math.max(seen.pendingEntriesMax, metrics.get('oplog_pending_entries') ?? 0);
      seen.gapsOpened = metrics.get('oplog_gaps_total{outcome="opened"}') ?? 0;
      seen.gapsFilled = metrics.get('oplog_gaps_total{outcome="filled"}') ?? 0;
      seen.corruptRecords = status.corruptRecords;
      seen.appliedSeq = BigInt(status.appliedSeq);
      seen.skippedEntries = BigInt(status.skippedEntries);
      seen.divergent = status.divergent;
      if (seen.appliedSeq >= hole.toSeq) {
        seen.caughtUpMs = Date.now() - startMs;
        return seen;
      }
    }
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
  }
  return seen;
}

/** The node's /metrics as `name{labels}` → value, unlabelled series by name; undefined when it does not answer. */
async function scrape(node: ChaosNode): Promise<Map<string, number> | undefined> {
  try {
    const response = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return undefined;
    const out = new Map<string, number>();
    for (const line of (await response.text()).split('\n')) {
      if (line.startsWith('#') || line === '') continue;
      const at = line.lastIndexOf(' ');
      out.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
    return out;
  } catch {
    return undefined;
  }
}

function describe(name: string, hole: Hole, seen: Seen): string {
  const through = seen.appliedSeq >= hole.toSeq;
  const problems = [
    ...(through ? [] : [`NOT through the hole: applied through ${seen.appliedSeq} after ${WAIT_MS} ms`]),
    ...(seen.skippedEntries > 0n || seen.divergent
      ? [`NOT without a skip: ${seen.skippedEntries} entries skipped, divergent ${seen.divergent}`]
      : []),
    ...(seen.pendingEntriesMax > PENDING_ENTRIES_MAX
      ? [`NOT bounded: ${seen.pendingEntriesMax} pending entries (bound ${PENDING_ENTRIES_MAX})`]
      : []),
    ...(seen.corruptRecords === 0 && seen.gapsOpened === 0
      ? ['NOT seen: no missing-record read, no gap']
      : []),
  ];
  const facts =
    `${seen.corruptRecords} reads found records missing, gaps opened / filled ${seen.gapsOpened} / ${seen.gapsFilled}, ` +
    `pending entries at most ${seen.pendingEntriesMax} of ${PENDING_ENTRIES_MAX} (${seen.samples} samples), ` +
    `${name} applied through ${seen.appliedSeq}${seen.caughtUpMs === undefined ? '' : ` ${seen.caughtUpMs} ms after its start`}, ${seen.skippedEntries} skipped`;
  return problems.length === 0 ? `filled from Kafka: ${facts}` : `${problems.join('; ')} (${facts})`;
}
