/**
 * The etcd adapter of the election port (stores/election.ts): the leader holds
 * `/<prefix>/<cluster>/leader` under a lease it keeps alive; when the lease expires
 * (the holder died, or was paused longer than the TTL) etcd deletes the key and the
 * watchers see the vacancy. Campaigning is a create-if-absent transaction.
 *
 * It shares its EtcdLogStore's client (one connection per cluster) and its error
 * translation: a call etcd does not answer is a StoreUnavailableError naming the
 * operation (`etcd campaign`, …), any call after the store closed is a ClosedError.
 * close() stops the watch and the keepalives (the lease then expires by its TTL) and
 * leaves the client to the store, which owns it.
 */
import type { Lease, WatchBuilder, Watcher } from 'etcd3';
import { ClosedError } from '../../core/errors.js';
import type { Election } from '../election.js';
import { authRefusal, type EtcdLogStore, type EtcdShared } from './etcd-store.js';

export interface EtcdElectionOptions {
  /**
   * Lease TTL in whole seconds. etcd raises a TTL below its minimum, 1.5 × its election
   * timeout rounded up to whole seconds (2 s with the default 1 s election timeout); the
   * TTL actually granted is in `grantedTtlS` after a campaign.
   */
  readonly leaseTtlS: number;
  /** Written as the key's value: who leads. */
  readonly nodeId: string;
}

export class EtcdElection implements Election {
  private readonly shared: EtcdShared;
  readonly key: string;
  private lease: Lease | undefined;
  private watcher: Watcher | undefined;
  private closed = false;
  /** The TTL etcd granted our last lease (may exceed the one asked for). */
  grantedTtlS: number | undefined;

  /** The election of `store`'s cluster (same prefix and cluster id, same client). */
  constructor(
    store: EtcdLogStore,
    private readonly options: EtcdElectionOptions,
  ) {
    this.shared = store.shared();
    this.key = `${this.shared.root}/leader`;
  }

  async campaign({ force = false }: { force?: boolean } = {}): Promise<boolean> {
    this.checkOpen();
    const { client, call } = this.shared;
    const context = { key: this.key, force: String(force) };
    const lease = client.lease(this.options.leaseTtlS, { autoKeepAlive: true });
    const leaseId = await call('etcd campaign (lease grant)', context, () => lease.grant()).catch(
      (error: unknown) => {
        lease.release();
        throw error;
      },
    );
    const put = client.put(this.key).value(this.options.nodeId).lease(leaseId);
    let won: boolean;
    try {
      won = await call('etcd campaign', context, async () =>
        force
          ? (await put.exec(), true)
          : (await client.if(this.key, 'Version', '==', 0).then(put).commit()).succeeded,
      );
    } catch (error) {
      await lease.revoke().catch(() => undefined);
      throw error;
    }
    if (!won) {
      await lease.revoke().catch(() => undefined);
      return false;
    }
    this.lease = lease;
    const granted = await client.leaseClient.leaseTimeToLive({ ID: leaseId }).catch(() => undefined);
    this.grantedTtlS = granted === undefined ? undefined : Number(granted.grantedTTL);
    return true;
  }

  async resign(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    await lease?.revoke().catch(() => undefined);
  }

  async isVacant(): Promise<boolean> {
    this.checkOpen();
    const value = await this.shared.call('etcd election read', { key: this.key }, () =>
      this.shared.client.get(this.key).string(),
    );
    return value === null;
  }

  async watchVacancy(onVacant: () => void): Promise<void> {
    this.checkOpen();
    const watcher = await this.shared.call('etcd election watch', { key: this.key }, () =>
      createWatcher(this.shared.client.watch().key(this.key)),
    );
    this.watcher = watcher;
    watcher.on('delete', () => onVacant());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watcher?.cancel().catch(() => undefined);
    this.lease?.release();
    this.lease = undefined;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('etcd election');
  }
}

/**
 * WatchBuilder.create(), except that etcd refusing our user (a wrong password, no
 * permission on the key) rejects it: the client reports that only as a disconnect and
 * reconnects forever, so create() would never settle. Other disconnects are waited out,
 * as create() does.
 */
function createWatcher(builder: WatchBuilder): Promise<Watcher> {
  const watcher = builder.watcher();
  return new Promise<Watcher>((resolve, reject) => {
    const settle = (error?: unknown) => {
      watcher.off('connected', onConnected);
      watcher.off('disconnected', onDisconnected);
      watcher.off('error', settle);
      if (error === undefined) return resolve(watcher);
      void watcher.cancel().catch(() => undefined);
      reject(error);
    };
    const onConnected = () => settle();
    const onDisconnected = (error: unknown) => {
      if (authRefusal(error) !== undefined) settle(error);
    };
    watcher.on('connected', onConnected);
    watcher.on('disconnected', onDisconnected);
    watcher.on('error', settle);
  });
}
