/**
 * The etcd store and its election on a real etcd with auth enabled (started by the
 * shared helper, then given a `root` user, a user `oplog` whose role covers this
 * cluster's keys `/oplog/<cluster>/`, and `auth enable`): with the right user and
 * password the store appends, reads, fences, and the election grants, keeps alive and
 * revokes leases in transactions. A wrong password, no credentials, or a user without
 * permission on these keys is a StoreAuthError naming the refusal, at once and not
 * retryable, with nothing written; so a writer stops on it and a standby fails closed,
 * instead of retrying forever as an unavailable store.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StoreAuthError, UnknownOutcomeError } from '../../src/core/errors.js';
import { epoch, seq } from '../../src/core/types.js';
import { startPrimaryWriter } from '../../src/node/primary-writer-factory.js';
import { PrimaryWriter } from '../../src/primary/primary-writer.js';
import { Standby } from '../../src/standby/standby.js';
import { EtcdElection } from '../../src/stores/etcd/election.js';
import { EtcdLogStore, type EtcdStoreOptions } from '../../src/stores/etcd/etcd-store.js';
import { makeRecord, testCompression } from '../helpers/entries.js';
import { CheckedKv, until } from '../helpers/waiting.js';
import { EtcdServer } from '../setup/etcd-server.js';
import { describeWithEtcd } from '../setup/servers.js';

const CLUSTER = 'auth';
const PASSWORD = 'oplog-password-1';

/**
 * Users and roles as an operator sets them up, then `auth enable`: `oplog` may read and
 * write `/oplog/<cluster>/` for each cluster given, `stranger` only `/oplog/elsewhere/`.
 */
async function enableAuth(endpoint: string, clusters: readonly string[]): Promise<void> {
  const admin = new Etcd3({ hosts: `http://${endpoint}` });
  try {
    await admin.role('root').create();
    await admin.user('root').create('root-password');
    await admin.user('root').addRole('root');
    const rw = admin.role('oplog-rw');
    await rw.create();
    for (const cluster of clusters)
      await rw.grant({ permission: 'Readwrite', range: admin.range({ prefix: `/oplog/${cluster}/` }) });
    await admin.user('oplog').create(PASSWORD);
    await admin.user('oplog').addRole('oplog-rw');
    const other = admin.role('other-rw');
    await other.create();
    await other.grant({ permission: 'Readwrite', range: admin.range({ prefix: '/oplog/elsewhere/' }) });
    await admin.user('stranger').create('stranger-password');
    await admin.user('stranger').addRole('other-rw');
    await admin.auth.authEnable();
  } finally {
    admin.close();
  }
}

describeWithEtcd('etcd store with user and password', () => {
  let server: EtcdServer;
  const open = (options: Partial<EtcdStoreOptions> = {}, clusterId = CLUSTER) =>
    new EtcdLogStore({ hosts: server.endpoint, clusterId, callTimeoutMs: 2_000, ...options });
  const oplog = { auth: { username: 'oplog', password: PASSWORD } };

  beforeAll(async () => {
    server = await EtcdServer.start();
    await enableAuth(server.endpoint, [CLUSTER, 'auth-writer', 'auth-standby']);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('appends, reads and fences with the right password; refuses the wrong one, none, or a user without permission', async () => {
    const good = open(oplog);
    await good.fence(epoch(1n));
    await good.append(makeRecord(1n, 3), epoch(1n));
    await good.append(makeRecord(4n, 2), epoch(1n));
    const read: bigint[] = [];
    for await (const record of good.read(seq(1n))) read.push(record.lastSeq);
    expect(read).toEqual([3n, 5n]);

    const refusals = [
      { options: { auth: { username: 'oplog', password: 'wrong-password' } }, refusal: 'credentials' },
      { options: { auth: { username: 'nobody', password: PASSWORD } }, refusal: 'credentials' },
      { options: {}, refusal: 'credentials' },
      { options: { auth: { username: 'stranger', password: 'stranger-password' } }, refusal: 'permission' },
    ] as const;
    for (const { options, refusal } of refusals) {
      // A deadline far above the bound below: a refusal must come from etcd's answer.
      const store = open({ ...options, callTimeoutMs: 10_000 });
      const calls = [
        () => store.head(),
        () => store.append(makeRecord(6n, 1), epoch(1n)),
        () => store.fence(epoch(2n)),
        () => store.currentEpoch(),
        async () => {
          for await (const record of store.read(seq(1n))) void record;
        },
      ];
      for (const call of calls) {
        const startedAt = performance.now();
        const error: unknown = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreAuthError);
        expect(error).toMatchObject({ code: 'OPLOG_STORE_AUTH', refusal, retryable: false });
        expect((error as Error).message).not.toContain(PASSWORD);
        // Refused by etcd's answer: not the call deadline (10 s), not a retry loop.
        expect(performance.now() - startedAt).toBeLessThan(5_000);
      }
      await store.close();
    }
    const refused = (await open({ auth: { username: 'oplog', password: 'x' } })
      .head()
      .catch((e: unknown) => e)) as Error;
    expect(refused.message).toMatch(
      /^etcd head failed: authentication refused: .*invalid user ID or password/,
    );

    // Nothing the refused stores tried was written: still epoch 1, head 5.
    expect(await good.currentEpoch()).toBe(1n);
    expect((await good.head()).lastSeq).toBe(5n);
    await good.close();
  }, 30_000);

  it('the election grants, keeps alive and revokes its lease with auth; refuses a wrong password', async () => {
    const store = open(oplog);
    const election = new EtcdElection(store, { leaseTtlS: 1, nodeId: 'node-a' });
    const rival = new EtcdElection(store, { leaseTtlS: 1, nodeId: 'node-b' });
    const vacancies: number[] = [];
    await rival.watchVacancy(() => vacancies.push(Date.now()));
    expect(await election.isVacant()).toBe(true);
    expect(await election.campaign()).toBe(true);
    expect(election.grantedTtlS).toBe(1);
    expect(await rival.campaign()).toBe(false);
    // Past twice the TTL the key is still held: the keepalives pass auth too.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await rival.isVacant()).toBe(false);
    await election.resign();
    await until(() => vacancies.length === 1, 'the rival sees the vacancy', 5_000);
    expect(await rival.campaign()).toBe(true);
    await rival.resign();
    await election.close();
    await rival.close();
    await store.close();

    // Refused rather than left pending: etcd's client reports a refused watch only as a
    // disconnect and reconnects forever, which used to leave watchVacancy() unsettled.
    const refusals = [
      { auth: { username: 'oplog', password: 'wrong-password' }, refusal: 'credentials' },
      { auth: { username: 'stranger', password: 'stranger-password' }, refusal: 'permission' },
    ] as const;
    for (const { auth, refusal } of refusals) {
      const refusedStore = open({ auth });
      const refused = new EtcdElection(refusedStore, { leaseTtlS: 1, nodeId: 'node-c' });
      const calls = [
        () => refused.campaign(),
        () => refused.isVacant(),
        () => refused.watchVacancy(() => undefined),
      ];
      for (const call of calls)
        await expect(call()).rejects.toMatchObject({ code: 'OPLOG_STORE_AUTH', refusal });
      await refused.close();
      await refusedStore.close();
    }
  }, 30_000);

  it('a writer whose permission is revoked stops with StoreAuthError instead of retrying forever', async () => {
    const store = open(oplog, 'auth-writer');
    const writer = await PrimaryWriter.start({ stores: [store], compression: testCompression() });
    const put = (i: number) => ({ type: 'put', key: `k${i}`, value: Buffer.from(`v${i}`) });
    expect(await writer.appendMany([put(1), put(2)])).toEqual([1n, 2n]);

    const admin = new Etcd3({
      hosts: `http://${server.endpoint}`,
      auth: { username: 'root', password: 'root-password' },
    });
    await admin
      .role('oplog-rw')
      .revoke({ permission: 'Readwrite', range: admin.range({ prefix: '/oplog/auth-writer/' }) });
    admin.close();

    const startedAt = performance.now();
    const outcome = await writer.append(put(3)).catch((e: unknown) => e);
    // Not retried: the writer stops at etcd's first refusal.
    // The record was handed to etcd: the writer does not claim it was not written.
    expect(outcome).toBeInstanceOf(UnknownOutcomeError);
    expect((outcome as UnknownOutcomeError).cause).toBeInstanceOf(StoreAuthError);
    expect(writer.state).toBe('stopped');
    expect(writer.error).toMatchObject({ code: 'OPLOG_STORE_AUTH', refusal: 'permission' });
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    await writer.close();
    await store.close();
  }, 30_000);

  it('a standby with a wrong password fails closed naming authentication, not degraded forever', async () => {
    const store = open({ auth: { username: 'oplog', password: 'wrong-password' } }, 'auth-standby');
    const standby = new Standby({
      startWriter: startPrimaryWriter,
      source: store,
      stateMachine: new CheckedKv(),
      compression: testCompression(),
    });
    standby.start();
    await until(() => standby.status.state === 'failed', 'the standby fails closed', 5_000);
    expect(standby.status.lastError).toMatch(/authentication refused/);
    await standby.stop();
    await store.close();
  }, 30_000);
});
