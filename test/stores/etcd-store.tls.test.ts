/**
 * The etcd store over TLS with client certificates, on a real etcd started here with
 * `--client-cert-auth` (certificates made by openssl for the run): the store appends and
 * reads through it; without a client certificate, or trusting another CA, the same
 * calls fail as StoreUnavailableError, and nothing is written.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { epoch, seq } from '../../src/core/types.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { makeCertificates } from '../helpers/certificates.js';
import { makeRecord } from '../helpers/entries.js';
import { findEtcd } from '../setup/etcd-server.js';
import { freePort } from '../setup/server-process.js';
import { describeWithEtcd } from '../setup/servers.js';

describeWithEtcd('etcd store over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oplog-etcd-tls-'));
  let etcd: ChildProcess;
  let endpoint = '';
  const pem = (file: string) => readFileSync(join(dir, file));

  beforeAll(async () => {
    makeCertificates(dir, 'good');
    makeCertificates(dir, 'other');
    const [client, peer] = [await freePort(), await freePort()];
    endpoint = `127.0.0.1:${client}`;
    etcd = spawn(
      findEtcd()!,
      [
        '--name=tls',
        `--data-dir=${join(dir, 'data')}`,
        `--listen-client-urls=https://${endpoint}`,
        `--advertise-client-urls=https://${endpoint}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=tls=http://127.0.0.1:${peer}`,
        `--cert-file=${join(dir, 'good-server.pem')}`,
        `--key-file=${join(dir, 'good-server.key')}`,
        `--trusted-ca-file=${join(dir, 'good-ca.pem')}`,
        '--client-cert-auth',
      ],
      { stdio: 'ignore' },
    );
    const store = new EtcdLogStore({
      hosts: endpoint,
      clusterId: 'probe',
      tls: { ca: pem('good-ca.pem'), cert: pem('good-client.pem'), key: pem('good-client.key') },
      callTimeoutMs: 1_000,
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await store.currentEpoch();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await store.close();
  }, 60_000);

  afterAll(() => {
    etcd?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends and reads with a client certificate; refuses without one or trusting another CA', async () => {
    const good = new EtcdLogStore({
      hosts: endpoint,
      clusterId: 'tls',
      tls: { ca: pem('good-ca.pem'), cert: pem('good-client.pem'), key: pem('good-client.key') },
    });
    await good.fence(epoch(1n));
    await good.append(makeRecord(1n, 3), epoch(1n));
    expect((await good.head()).lastSeq).toBe(3n);

    const refusals = [
      new EtcdLogStore({
        hosts: endpoint,
        clusterId: 'tls',
        tls: { ca: pem('good-ca.pem') },
        callTimeoutMs: 1_000,
      }),
      new EtcdLogStore({
        hosts: endpoint,
        clusterId: 'tls',
        tls: { ca: pem('other-ca.pem'), cert: pem('other-client.pem'), key: pem('other-client.key') },
        callTimeoutMs: 1_000,
      }),
      new EtcdLogStore({ hosts: endpoint, clusterId: 'tls', callTimeoutMs: 1_000 }),
    ];
    for (const store of refusals) {
      await expect(store.head()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.append(makeRecord(4n, 1), epoch(1n))).rejects.toBeInstanceOf(StoreUnavailableError);
      await store.close();
    }
    expect((await good.head()).lastSeq).toBe(3n);
    const read = [];
    for await (const r of good.read(seq(1n))) read.push(r.lastSeq);
    expect(read).toEqual([3n]);
    await good.close();
  }, 60_000);
});
