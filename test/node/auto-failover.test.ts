/**
 * Automatic failover's liveness on a real etcd: a vacancy that arrives while the only
 * standby cannot promote (its source is cut: degraded) is not lost. The standby keeps
 * checking while the leader key stays vacant and promotes once it can. And the etcd
 * election adapter translates errors like its store: StoreUnavailableError naming the
 * operation when etcd does not answer, ClosedError once closed.
 */
import { expect, it } from 'vitest';
import type { Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { AutoFailover } from '../../src/node/auto-failover.js';
import { ClosedError, StoreUnavailableError } from '../../src/core/errors.js';
import { EtcdElection } from '../../src/stores/etcd/election.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { Standby } from '../../src/standby/standby.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { testCompression } from '../helpers/entries.js';
import { CheckedKv, until } from '../helpers/waiting.js';
import { describeWithEtcd } from '../setup/servers.js';

const compression = testCompression();
const op = (i: number): Op => ({ type: 'put', key: `k${i}`, value: Buffer.from(`v${i}`) });

describeWithEtcd('automatic failover', (endpoint) => {
  it('a vacancy seen while degraded is retried until the standby can promote', async () => {
    const clusterId = `auto-${process.pid}-${Date.now()}`;
    const store = new FlakyStore(new MemoryLogStore());
    const primary = await PrimaryWriter.start({ stores: [store], compression });
    // One etcd client per node, as in separate processes: the election shares its store's.
    const primaryEtcd = new EtcdLogStore({ hosts: endpoint, clusterId });
    const standbyEtcd = new EtcdLogStore({ hosts: endpoint, clusterId });
    const primaryElection = new EtcdElection(primaryEtcd, { leaseTtlS: 1, nodeId: 'primary' });
    expect(await primaryElection.campaign({ force: true })).toBe(true);
    expect(primaryElection.grantedTtlS).toBeGreaterThanOrEqual(1); // what etcd granted for the 1 s asked
    await primary.appendMany(Array.from({ length: 20 }, (_, i) => op(i)));

    const kv = new CheckedKv();
    const standby = new Standby({
      startWriter: startPrimaryWriter,
      source: store,
      stateMachine: kv,
      compression,
      tickMs: 5,
    });
    standby.start();
    await until(() => standby.status.appliedSeq === 20n && standby.status.state === 'watching', 'caught up');
    const election = new EtcdElection(standbyEtcd, { leaseTtlS: 1, nodeId: 'standby' });
    const failover = new AutoFailover(standby, election, { baseDelayMs: 10, retryMs: 50 });
    await failover.start();
    await until(() => failover.status.lastOutcome === 'held', 'the key is held');

    store.down = true; // the standby goes blind…
    await until(() => standby.status.degraded, 'degraded');
    await primaryElection.close(); // …and the primary dies: keepalives stop, the lease expires
    await until(
      () => failover.status.lastOutcome?.startsWith('not eligible') ?? false,
      'vacancy seen',
      10_000,
    );
    expect(standby.primary).toBeUndefined();

    store.down = false;
    await until(() => standby.primary !== undefined, 'promoted', 10_000);
    expect(failover.status.lastOutcome).toBe('promoted');
    expect(await election.isVacant()).toBe(false);
    const seq = await standby.primary!.append(op(20));
    expect(seq).toBe(21n);
    await expect(primary.append(op(99))).rejects.toThrow();

    failover.stop();
    await standby.stop();
    await election.close();
    await primary.close().catch(() => undefined);
    await Promise.all([primaryEtcd.close(), standbyEtcd.close()]);
  });

  it('etcd errors are translated with the operation; a closed election or store is ClosedError', async () => {
    const nowhere = new EtcdLogStore({ hosts: '127.0.0.1:1', clusterId: 'nowhere', callTimeoutMs: 500 });
    const lost = new EtcdElection(nowhere, { leaseTtlS: 1, nodeId: 'n' });
    await expect(lost.isVacant()).rejects.toMatchObject({
      constructor: StoreUnavailableError,
      operation: 'etcd election read',
    });
    await lost.close();
    await expect(lost.isVacant()).rejects.toBeInstanceOf(ClosedError);
    await nowhere.close();

    const store = new EtcdLogStore({ hosts: endpoint, clusterId: `closed-${process.pid}-${Date.now()}` });
    const election = new EtcdElection(store, { leaseTtlS: 1, nodeId: 'n' });
    expect(await election.isVacant()).toBe(true);
    await store.close();
    await expect(election.campaign()).rejects.toBeInstanceOf(ClosedError);
    await election.close();
  });
});
