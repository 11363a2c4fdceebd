/**
 * Starts the real servers the integration tests need, once per run, and stops them at
 * the end. Tests read where they are with inject('etcd') / inject('kafka').
 *
 * - `OPLOG_TEST_ETCD=host:port` uses an etcd that is already running instead.
 * - `OPLOG_SKIP_ETCD=1` leaves etcd out: its tests are skipped and the run says so
 *   loudly. Without that flag, a missing etcd makes the etcd tests fail, never skip.
 * - The same for Kafka with `OPLOG_TEST_KAFKA` and `OPLOG_SKIP_KAFKA`.
 */
import type { TestProject } from 'vitest/node';
import { EtcdServer } from './etcd-server.js';
import { KafkaServer } from './kafka-server.js';

export type ServerAvailability =
  | { readonly kind: 'ready'; readonly endpoint: string }
  | { readonly kind: 'skipped' }
  | { readonly kind: 'missing'; readonly reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    etcd: ServerAvailability;
    kafka: ServerAvailability;
  }
}

function loud(message: string): void {
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n${message}\n${bar}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  // On a fresh machine start() provisions what it can (test/setup/provisioning.ts), so
  // the README's command works as typed; when it cannot, the server counts as missing
  // and its tests fail with what to install.
  const servers = [
    { name: 'etcd', env: 'ETCD', start: () => EtcdServer.start() },
    { name: 'kafka', env: 'KAFKA', start: () => KafkaServer.start() },
  ] as const;
  // Both start at once: a broker takes a few seconds.
  await Promise.all(
    servers.map(async ({ name, env, start }) => {
      const existing = process.env[`OPLOG_TEST_${env}`];
      if (existing !== undefined && existing !== '') {
        project.provide(name, { kind: 'ready', endpoint: existing });
      } else if (process.env[`OPLOG_SKIP_${env}`] === '1') {
        loud(`OPLOG_SKIP_${env}=1: the ${name} store tests are LEFT OUT of this run.`);
        project.provide(name, { kind: 'skipped' });
      } else {
        try {
          const server = await start();
          stops.push(() => server.stop());
          project.provide(name, { kind: 'ready', endpoint: server.endpoint });
        } catch (error) {
          project.provide(name, { kind: 'missing', reason: String(error) });
        }
      }
    }),
  );
  return async () => {
    for (const stop of stops) await stop();
  };
}
