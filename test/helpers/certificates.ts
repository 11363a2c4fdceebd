/**
 * Certificates for tests of TLS against real servers, made by openssl for the run: a
 * CA, a server certificate for 127.0.0.1 and a client certificate, both signed by that
 * CA. Files in `dir`, named `<name>-ca.pem`, `<name>-server.pem`, `<name>-server.key`,
 * `<name>-client.pem`, `<name>-client.key` (keys are unencrypted PKCS#8 PEM, which both
 * etcd and Kafka's PEM keystores read). Two calls with different names give two CAs
 * that do not trust each other.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const openssl = (dir: string, ...args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });

export function makeCertificates(dir: string, name: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}-ca.key`,
    '-out',
    `${name}-ca.pem`,
    '-days',
    '1',
    '-subj',
    `/CN=${name}-ca`,
  );
  for (const who of ['server', 'client']) {
    openssl(
      dir,
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}-${who}.key`,
      '-out',
      `${name}-${who}.csr`,
      '-subj',
      `/CN=${who}`,
    );
    writeFileSync(
      join(dir, `${who}.ext`),
      who === 'server'
        ? 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
        : 'extendedKeyUsage=clientAuth\n',
    );
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}-${who}.csr`,
      '-CA',
      `${name}-ca.pem`,
      '-CAkey',
      `${name}-ca.key`,
      '-CAcreateserial',
      '-out',
      `${name}-${who}.pem`,
      '-days',
      '1',
      '-extfile',
      `${who}.ext`,
    );
  }
}
