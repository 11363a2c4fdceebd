/**
 * The etcd store's append queue when etcd stops answering (a TCP proxy that suspends
 * traffic): the failed call, the rest of its group and everything queued behind it fail
 * together with one retryable StoreUnavailableError — one transaction and one call
 * timeout, not one per record — and once etcd answers again the same records append.
 */
import { Namespace } from 'etcd3';
import { afterAll, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { epoch } from '../../src/core/types.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { makeRecord } from '../helpers/entries.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { describeWithEtcd } from '../setup/servers.js';

describeWithEtcd('etcd store during an outage', (endpoint) => {
  const [host, port] = endpoint.split(':') as [string, string];
  let proxy: TcpProxy;
  afterAll(async () => proxy?.close());

  it('queued appends fail as one after a single unanswered transaction, then succeed when etcd answers', async () => {
    proxy = await TcpProxy.start({ host, port: Number(port) });
    const store = new EtcdLogStore({
      hosts: proxy.endpoint,
      clusterId: `outage-${process.pid}-${Date.now()}`,
      callTimeoutMs: 500,
    });
    await store.fence(epoch(1n));
    await store.append(makeRecord(1n, 2), epoch(1n));
    const records = Array.from({ length: 8 }, (_, i) => makeRecord(BigInt(3 + i * 2), 2));
    const transactions = vi.spyOn(Namespace.prototype, 'if');
    proxy.suspend();
    const results = await Promise.allSettled(records.map((r) => store.append(r, epoch(1n))));
    const issued = transactions.mock.calls.length;
    transactions.mockRestore();
    expect(results.map((r) => r.status)).toEqual(records.map(() => 'rejected'));
    for (const r of results) {
      const reason = (r as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(StoreUnavailableError);
      expect((reason as StoreUnavailableError).retryable).toBe(true);
    }
    expect(issued).toBe(1);

    proxy.resume();
    // As the writer's lane does: the same bytes again until etcd answers (the client may
    // first time out once more on the connection the partition held).
    for (const r of records)
      for (let attempt = 1; ; attempt++) {
        const error = await store.append(r, epoch(1n)).catch((e: unknown) => e);
        if (error === undefined) break;
        if (!(error instanceof StoreUnavailableError) || attempt === 10) throw error;
      }
    expect((await store.head()).lastSeq).toBe(18n);
    await store.close();
  }, 30_000);
});
