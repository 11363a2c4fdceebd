/**
 * `oplog serve` against secured servers, as child processes configured the way a
 * deployment is: a config file naming an etcd user with its password in a file, and a
 * Kafka SASL_SSL listener with the CA file and the SASL password in a file (a real etcd
 * with auth enabled, a real broker with SASL_SSL only and ACLs, both started here). A primary and
 * a standby replicate through them; the passwords appear nowhere — not in `oplog config
 * --print`, not in either node's logs or stderr, not in `/v1/status`. With a wrong
 * password a standby fails closed and says `authentication refused`, and an `auto` node
 * exits 1 with OPLOG_STORE_AUTH instead of never listening.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OplogClient } from '../../src/client/oplog-client.js';
import { makeCertificates } from '../helpers/certificates.js';
import { runOplog } from '../helpers/cli-process.js';
import { runServe, type ServeProcess } from '../helpers/serve-process.js';
import { untilValue } from '../helpers/waiting.js';
import { EtcdServer } from '../setup/etcd-server.js';
import { KafkaServer, OPLOG_KAFKA_ACLS } from '../setup/kafka-server.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';

const ETCD_PASSWORD = 'etcd-password-4b1d';
const KAFKA_PASSWORD = 'kafka-password-9c2e';
const WRONG_PASSWORD = 'wrong-password-77aa';
const SECRETS = [ETCD_PASSWORD, KAFKA_PASSWORD, WRONG_PASSWORD];
const CLUSTERS = ['secured', 'secured-wrong-kafka', 'secured-wrong-etcd'];

const put = (key: string, value: string) => ({ type: 'put', key, value: Buffer.from(value) });

/** etcd auth as an operator enables it: `root`, and `oplog` with readwrite on each cluster's keys. */
async function enableEtcdAuth(endpoint: string): Promise<void> {
  const admin = new Etcd3({ hosts: `http://${endpoint}` });
  try {
    await admin.role('root').create();
    await admin.user('root').create('root-password');
    await admin.user('root').addRole('root');
    const role = admin.role('oplog-rw');
    await role.create();
    for (const cluster of CLUSTERS)
      await role.grant({ permission: 'Readwrite', range: admin.range({ prefix: `/oplog/${cluster}/` }) });
    await admin.user('oplog').create(ETCD_PASSWORD);
    await admin.user('oplog').addRole('oplog-rw');
    await admin.auth.authEnable();
  } finally {
    admin.close();
  }
}

/** Everything a node said, for the check that no password is in it. */
const output = (node: ServeProcess) => JSON.stringify(node.logs) + node.stderr.join('\n');

describeWithEtcd('oplog serve on secured servers (etcd)', () => {
  describeWithKafka('oplog serve on secured servers (etcd auth, Kafka SASL_SSL)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oplog-serve-secured-'));
    let etcd: EtcdServer;
    let kafka: KafkaServer;
    const nodes: ServeProcess[] = [];
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };
    /** A config file with both stores secured; `wrong` swaps one password file for a wrong one. */
    const configFile = (name: string, wrong?: 'etcd' | 'kafka') =>
      file(
        `${name}.json`,
        JSON.stringify({
          stores: [
            {
              kind: 'etcd',
              hosts: [etcd.endpoint],
              auth: {
                username: 'oplog',
                passwordFile: join(dir, wrong === 'etcd' ? 'wrong-password' : 'etcd-password'),
              },
            },
            {
              kind: 'kafka',
              brokers: [kafka.endpoint],
              tls: { caFile: join(dir, 'good-ca.pem') },
              sasl: {
                mechanism: 'scram-sha-256',
                username: 'oplog',
                passwordFile: join(dir, wrong === 'kafka' ? 'wrong-password' : 'kafka-password'),
              },
            },
          ],
          server: { http: '127.0.0.1:0' },
        }),
      );

    beforeAll(async () => {
      makeCertificates(dir, 'good');
      const pem = (name: string) => readFileSync(join(dir, name));
      writeFileSync(
        join(dir, 'keystore.pem'),
        Buffer.concat([pem('good-server.key'), pem('good-server.pem')]),
      );
      // As a secret manager writes them: with a trailing newline, which is not part of the password.
      file('etcd-password', `${ETCD_PASSWORD}\n`);
      file('kafka-password', `${KAFKA_PASSWORD}\n`);
      file('wrong-password', `${WRONG_PASSWORD}\n`);
      [etcd, kafka] = await Promise.all([
        EtcdServer.start(),
        KafkaServer.start({
          security: {
            keystoreFile: join(dir, 'keystore.pem'),
            caFile: join(dir, 'good-ca.pem'),
            users: { oplog: KAFKA_PASSWORD },
          },
        }),
      ]);
      await Promise.all([enableEtcdAuth(etcd.endpoint), kafka.allow('oplog', OPLOG_KAFKA_ACLS)]);
    }, 180_000);
    afterAll(async () => {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      await Promise.all([etcd?.stop(), kafka?.stop()]);
      rmSync(dir, { recursive: true, force: true });
    });

    it('config --print shows the password files, never the passwords', async () => {
      const printed = await runOplog([
        'config',
        '--print',
        '--config',
        configFile('print'),
        '--cluster',
        'secured',
      ]);
      expect(printed.status).toBe(0);
      const config = JSON.parse(printed.stdout) as { stores: Record<string, unknown>[] };
      expect(config.stores[0]).toMatchObject({ auth: { passwordFile: join(dir, 'etcd-password') } });
      expect(config.stores[1]).toMatchObject({
        tls: { caFile: join(dir, 'good-ca.pem') },
        sasl: { passwordFile: join(dir, 'kafka-password') },
      });
      for (const secret of SECRETS) expect(printed.stdout + printed.stderr).not.toContain(secret);
    }, 60_000);

    it('a primary and a standby replicate through etcd auth and Kafka SASL_SSL; no password in their output', async () => {
      const config = configFile('ok');
      const common = ['--config', config, '--cluster', 'secured'];
      const primary = await runServe([
        ...common,
        '--role',
        'primary',
        '--node-id',
        'p',
        '--snapshot-dir',
        join(dir, 'p'),
      ]);
      nodes.push(primary);
      await primary.waitForLog((l) => l['msg'] === 'promoted: this node is the primary', 60_000);
      const standby = await runServe([
        ...common,
        '--role',
        'standby',
        '--node-id',
        's',
        '--snapshot-dir',
        join(dir, 's'),
      ]);
      nodes.push(standby);

      const writes = new OplogClient({ urls: [primary.url] });
      const { seqs } = await writes.append([put('a', 'one'), put('b', 'two')]);
      const last = (await writes.append(put('a', 'three'))).seqs[0]!;
      expect(last).toBe(seqs[1]! + 1n);
      const reads = new OplogClient({ urls: [standby.url] });
      expect(Buffer.from((await reads.get('a', { minSeq: last }))!.value).toString()).toBe('three');
      expect(Buffer.from((await reads.get('b', { minSeq: last }))!.value).toString()).toBe('two');

      for (const client of [writes, reads]) {
        // Both stores answer the status's head reads through their credentials (polled:
        // each head read has a 2 s deadline, which a loaded machine can miss).
        const status = await untilValue(
          'both store heads in the status',
          async () => {
            const s = await client.status();
            const stores = s['stores'] as { kind: string; headSeq?: string }[];
            return stores.every((store) => store.headSeq === String(last)) ? s : undefined;
          },
          20_000,
        );
        expect((status['stores'] as { kind: string }[]).map((store) => store.kind)).toEqual([
          'etcd',
          'kafka',
        ]);
        for (const secret of SECRETS) expect(JSON.stringify(status)).not.toContain(secret);
      }
      expect([(await writes.status())['state'], (await reads.status())['state']]).toEqual([
        'primary',
        'watching',
      ]);
      expect(await standby.stop()).toBe(0);
      expect(await primary.stop()).toBe(0);
      for (const node of [primary, standby])
        for (const secret of SECRETS) expect(output(node)).not.toContain(secret);
    }, 120_000);

    it('a wrong Kafka password: the standby fails closed saying authentication refused', async () => {
      const node = await runServe([
        '--config',
        configFile('wrong-kafka', 'kafka'),
        '--cluster',
        'secured-wrong-kafka',
        '--role',
        'standby',
        '--snapshot-dir',
        join(dir, 'wrong-kafka'),
      ]);
      nodes.push(node);
      const status = await untilValue(
        'the standby failed',
        async () => {
          const s = await new OplogClient({ urls: [node.url] }).status();
          return s['state'] === 'failed' ? s : undefined;
        },
        20_000,
      );
      expect(status['lastError']).toMatch(/kafka .*failed: authentication refused/);
      const ready = await fetch(`${node.url}/readyz`);
      expect(ready.status).toBe(503);
      const logged = await node.waitForLog((l) => l['msg'] === 'loop failed' && l['outcome'] === 'failed');
      expect(logged['cause']).toMatch(/^StoreAuthError: kafka .*authentication refused/);
      expect(await node.stop()).toBe(0);
      for (const secret of SECRETS) expect(output(node) + JSON.stringify(status)).not.toContain(secret);
    }, 60_000);

    it('a wrong etcd password: an auto node exits 1 with OPLOG_STORE_AUTH instead of never listening', async () => {
      const started = runServe([
        '--config',
        configFile('wrong-etcd', 'etcd'),
        '--cluster',
        'secured-wrong-etcd',
        '--role',
        'auto',
        '--snapshot-dir',
        join(dir, 'wrong-etcd'),
      ]);
      const failure = (await started.then(
        (node) => {
          nodes.push(node);
          return new Error('it listened');
        },
        (error: unknown) => error,
      )) as Error;
      expect(failure.message).toMatch(
        /exited \(1\) before listening: oplog serve: \[OPLOG_STORE_AUTH\] etcd .*authentication refused/,
      );
      for (const secret of SECRETS) expect(failure.message).not.toContain(secret);
    }, 60_000);
  });
});
