/**
 * Starts the real servers the integration tests need, once per run, and stops them at
 * the end. Tests read where they are with inject('etcd') / inject('kafka').
 *
 * - `OPLOG_TEST_ETCD=host:port` uses an etcd that is already running instead.
 * - `OPLOG_SKIP_ETCD=1` leaves etcd out: its tests are skipped and the run says so
 *   loudly. Without that flag, a missing etcd makes the etcd tests fail, never skip.
 */
import type { TestProject } from 'vitest/node';
import { EtcdServer } from './etcd-server.js';

export type ServerAvailability =
  | { readonly kind: 'ready'; readonly endpoint: string }
  | { readonly kind: 'skipped' }
  | { readonly kind: 'missing'; readonly reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    etcd: ServerAvailability;
  }
}

function loud(message: string): void {
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n${message}\n${bar}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  const etcdEnv = process.env['OPLOG_TEST_ETCD'];
  if (etcdEnv !== undefined && etcdEnv !== '') {
    project.provide('etcd', { kind: 'ready', endpoint: etcdEnv });
  } else if (process.env['OPLOG_SKIP_ETCD'] === '1') {
    loud('OPLOG_SKIP_ETCD=1: the etcd store tests are LEFT OUT of this run.');
    project.provide('etcd', { kind: 'skipped' });
  } else {
    try {
      const server = await EtcdServer.start();
      stops.push(() => server.stop());
      project.provide('etcd', { kind: 'ready', endpoint: server.endpoint });
    } catch (error) {
      project.provide('etcd', { kind: 'missing', reason: String(error) });
    }
  }
  return async () => {
    for (const stop of stops) await stop();
  };
}
