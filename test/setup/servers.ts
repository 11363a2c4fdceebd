/**
 * What integration tests call to find their servers. A server that is missing (and was
 * not explicitly left out) fails the test with the reason; one left out with
 * OPLOG_SKIP_* skips it, and the global setup has already said so loudly.
 */
import { describe, inject, it } from 'vitest';

/** Registers `body` when etcd is available; otherwise a failing (or, if left out, skipped) test. */
export function describeWithEtcd(name: string, body: (endpoint: string) => void): void {
  const etcd = inject('etcd');
  if (etcd.kind === 'ready') describe(name, () => body(etcd.endpoint));
  else if (etcd.kind === 'skipped')
    describe.skip(`${name} (OPLOG_SKIP_ETCD=1)`, () => it('left out', () => {}));
  else
    describe(name, () =>
      it('needs a real etcd', () => {
        throw new Error(
          `etcd is not available: ${etcd.reason}. Set OPLOG_SKIP_ETCD=1 to leave these tests out.`,
        );
      }),
    );
}
