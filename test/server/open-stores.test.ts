/**
 * How a served node reads its stores' TLS files (src/server/open-stores.ts): a CA
 * bundle as large as a system one (~200 KiB, over the 64 KiB a secret may be) is
 * accepted, since certificates are not secrets; a missing CA file, or one holding no
 * certificate, is an InvalidConfigError naming the field and the path. No server is
 * contacted: the store clients connect on first use.
 */
import { NO_LOGGER } from '../../src/core/telemetry.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { InvalidConfigError } from '../../src/config/config-error.js';
import { readSecret, SECRET_BYTES_MAX } from '../../src/config/secret.js';
import { openNodeStores } from '../../src/server/open-stores.js';
import { makeCertificates } from '../helpers/certificates.js';

const dir = mkdtempSync(join(tmpdir(), 'oplog-open-stores-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const secrets = async (path: string) => readSecret(path);

function configWithCa(caFile: string) {
  return loadConfig({
    env: {},
    flags: {
      clusterId: 'tls-files',
      snapshots: { dir: join(dir, 'snapshots') },
      stores: [
        {
          kind: 'kafka',
          brokers: ['127.0.0.1:1'],
          tls: { caFile },
          sasl: { mechanism: 'scram-sha-512', username: 'oplog', passwordFile: join(dir, 'password') },
        },
        { kind: 'etcd', hosts: ['127.0.0.1:2'], tls: { caFile } },
      ],
    },
  });
}

it('accepts a CA bundle larger than a secret may be; refuses a missing or certificate-less CA file by field', async () => {
  makeCertificates(dir, 'bundle');
  writeFileSync(join(dir, 'password'), 'distinctive-secret-91\n', { mode: 0o600 });
  const ca = readFileSync(join(dir, 'bundle-ca.pem'));
  const bundle = join(dir, 'bundle.pem');
  writeFileSync(bundle, Buffer.concat(Array.from({ length: 300 }, () => ca)));
  expect(readFileSync(bundle).length).toBeGreaterThan(SECRET_BYTES_MAX * 3);

  const stores = await openNodeStores(configWithCa(bundle), secrets, NO_LOGGER);
  expect([...stores.byKind.keys()]).toEqual(['kafka', 'etcd']);
  await stores.close();

  const refusals = [
    { caFile: join(dir, 'missing.pem'), rule: 'does not exist' },
    { caFile: join(dir, 'password'), rule: 'holds no PEM certificate' },
  ];
  for (const { caFile, rule } of refusals) {
    const error = await openNodeStores(configWithCa(caFile), secrets, NO_LOGGER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error).toMatchObject({ field: 'stores.kafka.tls.caFile', value: caFile, rule });
    // The file's bytes (here a password) are never in the message.
    expect((error as Error).message).not.toContain('distinctive-secret-91');
  }
});
