/**
 * The etcd store on a real 3-member etcd cluster that this test owns: the whole LogStore
 * contract holds with one member kill -9'd (calls go to the members that are up, not a
 * third of them to the dead one); the leader kill -9'd during appends loses and
 * duplicates nothing, the writer resumes within a bound and a subscriber misses
 * nothing; the election's lease outlives a leader kill; the member restarted on its
 * data dir catches up and gets calls again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { epoch, seq } from '../../src/core/types.js';
import type { BatchRecord } from '../../src/core/record-codec.js';
import { EtcdElection } from '../../src/stores/etcd/election.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { MEMBER_RETRY_AFTER_MS } from '../../src/stores/etcd/member-failover.js';
import {
  appendRetrying,
  collect,
  harnessByClusterId,
  runLogStoreContract,
} from '../contract/log-store.contract.js';
import { makeRecord } from '../helpers/entries.js';
import { until } from '../helpers/waiting.js';
import { EtcdCluster, type EtcdMember } from '../setup/etcd-cluster.js';
import { describeWithEtcd } from '../setup/servers.js';

/** How many Txn calls a member has answered (etcd's own gRPC metrics). */
async function txnsServed(member: EtcdMember): Promise<number> {
  const text = await (await fetch(`http://${member.endpoint}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('grpc_server_handled_total{') &&
        l.includes('grpc_method="Txn"') &&
        l.includes('grpc_code="OK"'),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describeWithEtcd('etcd store on a 3-member cluster', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  const run = `${process.pid}-${Date.now()}`;

  describe('one member of three kill -9d', () => {
    let down: EtcdMember;
    beforeAll(async () => {
      const leader = await cluster.leader();
      down = cluster.members.find((m) => m !== leader)!;
      await down.kill9();
    });
    afterAll(async () => {
      await down.launch();
      await cluster.waitHealthy();
    });

    runLogStoreContract(
      'etcd, 3 members, one down',
      harnessByClusterId(
        (clusterId) =>
          new EtcdLogStore({ hosts: cluster.endpoints, clusterId, prefix: 'oplog-test', pageRecords: 7 }),
      ),
    );

    it('no call fails while the other two members answer', async () => {
      const store = new EtcdLogStore({ hosts: cluster.endpoints, clusterId: `down-${run}` });
      await store.fence(epoch(1n));
      let retries = 0;
      for (let s = 1n; s <= 60n; s++) {
        retries += await appendRetrying(store, makeRecord(s, 1), 1n, { delayMs: 20 });
        expect((await store.head()).lastSeq).toBe(s);
      }
      // Before the client steered away from dead members, about a third of these failed.
      expect(retries).toBe(0);
      expect((await collect(store.read(seq(1n)))).map((r) => r.firstSeq)).toEqual(
        Array.from({ length: 60 }, (_, i) => BigInt(i + 1)),
      );
      await store.close();
    });
  });

  it('kill -9 the leader while the election lease is held: the key stays, and a resign is seen as a vacancy', async () => {
    const clusterId = `election-${run}`;
    const holder = new EtcdLogStore({ hosts: cluster.endpoints, clusterId });
    const watcher = new EtcdLogStore({ hosts: cluster.endpoints, clusterId });
    const election = new EtcdElection(holder, { leaseTtlS: 2, nodeId: 'a' });
    const observer = new EtcdElection(watcher, { leaseTtlS: 2, nodeId: 'b' });
    const leader = await cluster.leader();
    try {
      expect(await election.campaign()).toBe(true);
      let vacancies = 0;
      await observer.watchVacancy(() => vacancies++);
      await leader.kill9();
      const deadline = performance.now() + 6_000;
      // Until the others have elected a new leader a read may fail (etcd answers "leader
      // changed"); none may find the key vacant.
      const electing = cluster.leader().then(() => performance.now());
      let electedAtMs: number | undefined;
      void electing.then((at) => (electedAtMs = at));
      let answered = 0;
      // Then, past the lease TTL: the new leader extends the leases it inherits and the
      // keepalives find a member that is up; every read answers, none finds it vacant.
      while (performance.now() < deadline) {
        const during = electedAtMs === undefined;
        const vacant = await observer.isVacant().catch((error: unknown) => {
          if (!during || !(error instanceof StoreUnavailableError)) throw error;
          return undefined;
        });
        if (vacant !== undefined) answered++;
        expect(vacant).not.toBe(true);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(deadline - (await electing)).toBeGreaterThan(2_500);
      expect(answered).toBeGreaterThan(20);
      expect(vacancies).toBe(0);
      expect(await observer.campaign()).toBe(false);
      await election.resign();
      await until(() => vacancies === 1, 'the vacancy after resign');
      expect(await observer.campaign()).toBe(true);
    } finally {
      if (!leader.running) await leader.launch();
      await cluster.waitHealthy();
      await observer.close();
      await election.close();
      await holder.close();
      await watcher.close();
    }
  }, 60_000);

  it('kill -9 the leader during appends: nothing acknowledged lost or doubled; it rejoins and serves again', async () => {
    const clusterId = `leader-kill-${run}`;
    const writer = new EtcdLogStore({ hosts: cluster.endpoints, clusterId, pollIntervalMs: 200 });
    const reader = new EtcdLogStore({ hosts: cluster.endpoints, clusterId, pollIntervalMs: 200 });
    await writer.fence(epoch(1n));
    const total = 120;
    const subscription = reader.subscribe(seq(1n));
    const seen: bigint[] = [];
    const consuming = (async () => {
      for await (const event of subscription) {
        if (event.type !== 'record') continue;
        seen.push(event.record.firstSeq);
        if (event.record.lastSeq >= BigInt(total * 2)) break;
      }
    })();

    const acked: BatchRecord[] = [];
    let killed: EtcdMember | undefined;
    let killedAtMs = 0;
    let resumedAfterMs: number | undefined;
    let retries = 0;
    for (let i = 0; i < total; i++) {
      if (i === 40) {
        killed = await cluster.leader();
        killedAtMs = performance.now();
        await killed.kill9();
      }
      const record = makeRecord(BigInt(i * 2 + 1), 2);
      retries += await appendRetrying(writer, record, 1n, { delayMs: 50 });
      acked.push(record);
      if (killed !== undefined && resumedAfterMs === undefined)
        resumedAfterMs = performance.now() - killedAtMs;
    }
    await consuming;
    subscription.close();

    // The new leader is elected in about a second; an append caught on a follower that
    // had forwarded it to the dead leader waits out its call deadline (5 s) first.
    expect(resumedAfterMs).toBeLessThan(10_000);
    expect(retries).toBeLessThan(10);
    const stored = await collect(reader.read(seq(1n)));
    expect(stored.map((r) => r.firstSeq)).toEqual(acked.map((r) => r.firstSeq));
    expect(stored.map((r) => r.bodyChecksum)).toEqual(acked.map((r) => r.bodyChecksum));
    expect(seen).toEqual(acked.map((r) => r.firstSeq));
    const newLeader = await cluster.leader();
    expect(newLeader).not.toBe(killed);

    // Back on its data dir it rejoins as the same member and catches up on what it missed…
    await killed!.launch();
    expect(await cluster.waitHealthy()).toBeDefined();
    const alone = new EtcdLogStore({ hosts: killed!.endpoint, clusterId });
    expect((await alone.head()).lastSeq).toBe(BigInt(total * 2));
    expect((await collect(alone.read(seq(1n)))).map((r) => r.bodyChecksum)).toEqual(
      acked.map((r) => r.bodyChecksum),
    );
    await alone.close();

    // …and the writer's client, which left it out while it was down, sends it calls again.
    const before = await txnsServed(killed!);
    let next = BigInt(total * 2 + 1);
    const deadline = performance.now() + MEMBER_RETRY_AFTER_MS + 10_000;
    while ((await txnsServed(killed!)) === before) {
      expect(performance.now()).toBeLessThan(deadline);
      await appendRetrying(writer, makeRecord(next, 1), 1n, { delayMs: 20 });
      next++;
    }
    await writer.close();
    await reader.close();
  }, 60_000);
});
