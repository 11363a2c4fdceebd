/**
 * The health check run before and after every fault: the cluster is healthy when every
 * node answers, exactly one node writes, every other node is `watching` (caught up,
 * neither degraded nor divergent), and the workload had an append acknowledged since
 * the check began. Nodes that cannot get well by themselves are restarted and the
 * report says so: one that exited, or one whose writer was fenced (state `stopped`:
 * the end of a zombie), or that failed closed (`failed`).
 */
import type { Cluster } from './cluster.js';

export interface Health {
  readonly ok: boolean;
  /** From the start of the check until healthy (or until it gave up). */
  readonly waitedMs: number;
  /** What was still wrong at the end, when not ok. */
  readonly reason: string;
  /** Nodes restarted by the check, and why. */
  readonly restarted: readonly string[];
}

export async function waitHealthy(
  cluster: Cluster,
  lastOkMs: () => number,
  timeoutMs: number,
): Promise<Health> {
  const startMs = Date.now();
  const restarted: string[] = [];
  let reason = '';
  while (Date.now() - startMs < timeoutMs) {
    reason = await unhealthyReason(cluster, restarted);
    if (reason === '' && lastOkMs() <= startMs) reason = 'no append acknowledged since the check began';
    if (reason === '') return { ok: true, waitedMs: Date.now() - startMs, reason, restarted };
    await new Promise((r) => setTimeout(r, 250));
  }
  return { ok: false, waitedMs: Date.now() - startMs, reason, restarted };
}

/** '' when healthy; restarts what cannot recover by itself and notes it in `restarted`. */
async function unhealthyReason(cluster: Cluster, restarted: string[]): Promise<string> {
  const problems: string[] = [];
  let writers = 0;
  for (const node of cluster.nodes.values()) {
    if (node.paused) node.resume();
    if (!node.alive) {
      const exit = node.process?.child.exitCode ?? node.process?.child.signalCode;
      restarted.push(`${node.name}: had exited (${exit}); started again`);
      await node.start();
    }
    const status = await node.status();
    if (status === undefined) {
      problems.push(`${node.name} does not answer`);
      continue;
    }
    if (status.state === 'stopped' || status.state === 'failed') {
      restarted.push(`${node.name}: state ${status.state} (${status.lastError ?? 'no error'}); restarted`);
      await node.stop();
      await node.start();
      problems.push(`${node.name} restarted`);
      continue;
    }
    if (status.writing) {
      writers++;
      continue;
    }
    if (status.state !== 'watching' || status.degraded || status.divergent) {
      const why = status.state === 'leaderless' ? status.promotion.lastError : status.lastError;
      problems.push(
        `${node.name} is ${status.state}${status.degraded ? ', degraded' : ''}${status.divergent ? ', divergent' : ''}${why === null ? '' : ` (${why})`}`,
      );
    }
  }
  if (writers !== 1) problems.push(`${writers} writing nodes`);
  return problems.join('; ');
}
