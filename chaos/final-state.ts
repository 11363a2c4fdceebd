/**
 * Each node's final state, once faults stopped and the workload ended (history.ts
 * NodeFinal): it waits until every node has applied the same last seq, then reads each
 * node's whole log from its change stream (`GET /v1/watch?fromSeq=1`, up to the seq it
 * applied) and every key of the workload's key space at one applied seq — the state
 * the checker hashes and compares with the log's and the other nodes'.
 */
import type { ChaosNode, Cluster } from './cluster.js';
import type { NodeFinal, WatchEvent } from './history.js';
import { readWatch } from './watch-follower.js';

/** Waits (bounded) until every node reports the same applied seq twice in a row; returns it, or why not. */
export async function waitConverged(
  cluster: Cluster,
  timeoutMs: number,
): Promise<{ converged: boolean; appliedSeqs: Record<string, string> }> {
  const deadline = Date.now() + timeoutMs;
  let previous = '';
  let appliedSeqs: Record<string, string> = {};
  while (Date.now() < deadline) {
    const statuses = await Promise.all(
      [...cluster.nodes.values()].map(async (n) => [n.name, await n.status()] as const),
    );
    appliedSeqs = Object.fromEntries(statuses.map(([name, s]) => [name, s?.appliedSeq ?? 'no answer']));
    const seqs = new Set(Object.values(appliedSeqs));
    const now = JSON.stringify(appliedSeqs);
    if (seqs.size === 1 && !seqs.has('no answer') && now === previous)
      return { converged: true, appliedSeqs };
    previous = now;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  return { converged: false, appliedSeqs };
}

export async function collectFinal(node: ChaosNode, keys: number, timeoutMs: number): Promise<NodeFinal> {
  const status = await node.status();
  if (status === undefined) throw new Error(`${node.name} does not answer its status`);
  const appliedSeq = BigInt(status.appliedSeq);
  const log: WatchEvent[] = [];
  const signal = AbortSignal.timeout(timeoutMs);
  const startMs = Date.now();
  /** Where each read started and how it ended, for a view that ends short. */
  const reads: string[] = [];
  // A stream that is cut (or fails) is resumed after the last seq it gave, until the applied seq.
  for (let attempt = 0; attempt < 20 && lastSeqOf(log) < appliedSeq && !signal.aborted; attempt++) {
    const from = lastSeqOf(log) + 1n;
    const before = log.length;
    await readWatch(node.url, from, log, {
      signal,
      idleMs: 20_000,
      until: (event) => event.kind === 'entry' && event.seq >= appliedSeq,
    });
    const cut = log.slice(before).find((e) => e.kind === 'cut');
    reads.push(
      `from ${from}: ${log.length - before} lines, ${cut?.kind === 'cut' ? `cut ${cut.reason}` : 'no cut line'} at ${Date.now() - startMs} ms`,
    );
  }
  const { state, stateSeq } = await readState(node, keys, appliedSeq);
  const after = (await node.status()) ?? status;
  return {
    node: node.name,
    appliedSeq,
    log,
    state,
    stateSeq,
    divergent: after.divergent,
    degraded: after.degraded,
    ...(lastSeqOf(log) < appliedSeq
      ? {
          shortView: `${node.name}: final watch view ends at seq ${lastSeqOf(log)} of ${appliedSeq}${signal.aborted ? ` (${timeoutMs} ms passed)` : ''}; reads: ${reads.join('; ')}`,
        }
      : {}),
  };
}

function lastSeqOf(log: readonly WatchEvent[]): bigint {
  for (let i = log.length - 1; i >= 0; i--) {
    const event = log[i]!;
    if (event.kind === 'entry') return event.seq;
    if (event.kind === 'skipped') return event.toSeq;
  }
  return 0n;
}

/** Every key k0…k(keys-1), all answered at one applied seq (retried while a new entry lands between). */
async function readState(
  node: ChaosNode,
  keys: number,
  minSeq: bigint,
): Promise<{ state: Map<string, string>; stateSeq: bigint }> {
  for (let attempt = 0; ; attempt++) {
    const state = new Map<string, string>();
    const seqs = new Set<bigint>();
    for (let k = 0; k < keys; k++) {
      const key = `k${k}`;
      const response = await fetch(`${node.url}/v1/kv/${key}?minSeq=${minSeq}&waitMs=5000`, {
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as Record<string, string>;
      if (response.status === 200) {
        state.set(key, Buffer.from(body['value']!, 'base64').toString('utf8'));
        seqs.add(BigInt(body['seq']!));
      } else if (response.status === 404 && body['code'] === 'OPLOG_NO_SUCH_KEY') {
        seqs.add(BigInt(body['appliedSeq']!));
      } else {
        throw new Error(`${node.name}: read of ${key} answered ${response.status} ${body['code']}`);
      }
    }
    if (seqs.size === 1) return { state, stateSeq: [...seqs][0]! };
    if (attempt >= 5)
      throw new Error(
        `${node.name}: reads of the key space kept answering at several seqs (${[...seqs].join(', ')})`,
      );
  }
}
