/**
 * A standby cut from its source by a real network partition (a TCP proxy between it
 * and a real etcd that stops moving bytes): it becomes degraded within a bounded time
 * (the store's call deadline plus its poll interval), refuses promotion while blind,
 * and recovers by itself when the link returns, with no entry lost or applied twice.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Op } from '../../src/core/types.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { Standby } from '../../src/standby/standby.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { testCompression } from '../helpers/entries.js';
import { CheckedKv, until } from '../helpers/waiting.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { describeWithEtcd } from '../setup/servers.js';

describeWithEtcd('standby behind a network partition', (endpoint) => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    const [host, port] = endpoint.split(':');
    proxy = await TcpProxy.start({ host: host!, port: Number(port) });
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('is degraded within a bounded time while cut, and recovers with nothing lost or applied twice', async () => {
    const clusterId = `cut-${process.pid}-${Date.now()}`;
    const direct = new EtcdLogStore({ hosts: endpoint, clusterId });
    const behindProxy = new EtcdLogStore({
      hosts: proxy.endpoint,
      clusterId,
      callTimeoutMs: 800,
      pollIntervalMs: 300,
    });
    const primary = await PrimaryWriter.start({ stores: [direct], compression: testCompression() });
    const kv = new CheckedKv();
    const standby = new Standby({
      startWriter: startPrimaryWriter,
      source: behindProxy,
      stateMachine: kv,
      compression: testCompression(),
    });
    standby.start();
    const op = (i: number): Op => ({ type: 'put', key: `k${i % 10}`, value: Buffer.from(`v${i}`) });
    await primary.appendMany(Array.from({ length: 200 }, (_, i) => op(i)));
    await until(
      () => standby.status.state === 'watching' && standby.status.appliedSeq === 200n,
      'caught up',
      10_000,
    );

    proxy.suspend();
    await primary.appendMany(Array.from({ length: 100 }, (_, i) => op(200 + i)));
    const degradedAfterMs = await until(() => standby.status.degraded, 'degraded', 5_000);
    // Bounded by the call deadline (800 ms) + poll interval (300 ms) + scheduling.
    expect(degradedAfterMs).toBeLessThan(3_000);
    await expect(standby.promote()).rejects.toMatchObject({ blockers: expect.arrayContaining(['degraded']) });

    proxy.resume();
    await primary.appendMany(Array.from({ length: 100 }, (_, i) => op(300 + i)));
    await until(
      () => standby.status.appliedSeq === 400n && standby.status.state === 'watching',
      'recovery',
      15_000,
    );
    expect(kv.seqs).toEqual(Array.from({ length: 400 }, (_, i) => BigInt(i + 1)));
    await standby.stop();
    await primary.close();
    await direct.close();
    await behindProxy.close();
  }, 60_000);
});
