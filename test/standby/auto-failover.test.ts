/**
 * Automatic failover's liveness on a real etcd: a vacancy that arrives while the only
 * standby cannot promote (its source is cut: degraded) is not lost. The standby keeps
 * checking while the leader key stays vacant and promotes once it can.
 */
import { expect, it } from 'vitest';
import type { Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { AutoFailover } from '../../src/node/auto-failover.js';
import { LeaderElection } from '../../src/standby/leader-election.js';
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
    const primaryElection = new LeaderElection({
      hosts: endpoint,
      clusterId,
      leaseTtlS: 1,
      nodeId: 'primary',
    });
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
    const election = new LeaderElection({ hosts: endpoint, clusterId, leaseTtlS: 1, nodeId: 'standby' });
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
  });
});
