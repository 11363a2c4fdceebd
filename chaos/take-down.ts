/**
 * Taking a follower down for a fault in its store (corrupt-etcd, corrupt-kafka,
 * long-gap): the damage is done while it is down, and it must meet the damage when it
 * starts again, reading from its snapshot.
 */
import type { ChaosNode, NodeStatusDoc } from './cluster.js';

/**
 * kill -9 of `follower`, for a fault in its store; returns its last status. A single
 * fault, not a crash of the writer too: a writing follower hands over first (SIGTERM
 * drains and gives the leader key up), and the damage follows.
 */
export async function takeDown(follower: ChaosNode): Promise<{ status: NodeStatusDoc; handedOver: string }> {
  let status = await follower.status();
  if (status === undefined) throw new Error(`${follower.name} does not answer`);
  let handedOver = '';
  if (status.writing) {
    await follower.stop();
    await follower.start();
    status = await waitStatus(follower, (s) => s.state === 'watching' && !s.writing);
    handedOver = `${follower.name} was writing: stopped (SIGTERM) and started again first; `;
  }
  await follower.kill9();
  return { status, handedOver };
}

export async function waitStatus(
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
