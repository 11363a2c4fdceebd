/**
 * Automatic failover (DESIGN.md "Promotion", off by default): the primary holds
 * `/<prefix>/<cluster>/leader` under an etcd lease it keeps alive. When the lease
 * expires (the primary died, or was paused longer than the TTL) etcd deletes the key;
 * standbys that see the deletion campaign — only a caught-up, non-divergent,
 * non-degraded one, after a delay proportional to its lag, so the most caught-up goes
 * first — and the one whose create-if-absent transaction succeeds promotes. A standby
 * that cannot promote yet (degraded, behind, refused) keeps trying with backoff for as
 * long as the key stays vacant, so a cluster never stays without a writer because the
 * one vacancy event came at a bad moment. Safety does not rest on the lease: promotion
 * fences every store, so a primary that wakes after losing its lease is refused by the
 * stores.
 */
import { noop } from 'cockatiel';
import { Etcd3, type Lease, type Watcher } from 'etcd3';
import { validateClusterId } from '../core/cluster-id.js';
import type { Election } from './election.js';

export interface ElectionOptions {
  readonly hosts: string | readonly string[];
  readonly clusterId: string;
  readonly prefix?: string;
  /**
   * Lease TTL in whole seconds. etcd raises a TTL below its minimum, 1.5 × its election
   * timeout rounded up to whole seconds (2 s with the default 1 s election timeout); the
   * TTL actually granted is in `grantedTtlS` after a campaign.
   */
  readonly leaseTtlS: number;
  /** Written as the key's value: who leads. */
  readonly nodeId: string;
}

export class LeaderElection implements Election {
  private readonly client: Etcd3;
  readonly key: string;
  private lease: Lease | undefined;
  private watcher: Watcher | undefined;
  /** The TTL etcd granted our last lease (may exceed the one asked for). */
  grantedTtlS: number | undefined;

  constructor(private readonly options: ElectionOptions) {
    const cluster = validateClusterId(options.clusterId);
    const prefix = validateClusterId(options.prefix ?? 'oplog');
    this.key = `/${prefix}/${cluster}/leader`;
    const hosts = (typeof options.hosts === 'string' ? [options.hosts] : options.hosts).map((h) =>
      h.includes('://') ? h : `http://${h}`,
    );
    this.client = new Etcd3({ hosts, faultHandling: { host: () => noop, global: noop } });
  }

  /**
   * Takes the leader key under a fresh lease, if it is free. Returns false when someone
   * else holds it. A started primary has already fenced every store, so it may also
   * `force` the key over a stale holder.
   */
  async campaign({ force = false }: { force?: boolean } = {}): Promise<boolean> {
    const lease = this.client.lease(this.options.leaseTtlS, { autoKeepAlive: true });
    const leaseId = await lease.grant();
    const put = this.client.put(this.key).value(this.options.nodeId).lease(leaseId);
    const won = force
      ? (await put.exec(), true)
      : (await this.client.if(this.key, 'Version', '==', 0).then(put).commit()).succeeded;
    if (!won) {
      await lease.revoke().catch(() => undefined);
      return false;
    }
    this.lease = lease;
    const granted = await this.client.leaseClient.leaseTimeToLive({ ID: leaseId }).catch(() => undefined);
    this.grantedTtlS = granted === undefined ? undefined : Number(granted.grantedTTL);
    return true;
  }

  /** Gives the key up at once (revokes our lease), so another node can campaign. */
  async resign(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    await lease?.revoke().catch(() => undefined);
  }

  /** Whether nobody holds the leader key. */
  async isVacant(): Promise<boolean> {
    return (await this.client.get(this.key).string()) === null;
  }

  /** Calls `onVacant` each time the leader key is deleted (its lease expired). */
  async watchVacancy(onVacant: () => void): Promise<void> {
    this.watcher = await this.client.watch().key(this.key).create();
    this.watcher.on('delete', () => onVacant());
  }

  async close(): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
    this.lease?.release();
    this.client.close();
  }
}
