/**
 * What integration tests call to find their servers. A server that is missing (and was
 * not explicitly left out) fails the test with the reason; one left out with
 * OPLOG_SKIP_* skips it, and the global setup has already said so loudly.
 */
import { describe, inject, it } from 'vitest';
import type { ServerAvailability } from './global-setup.js';

/** Registers `body` when the server is available; otherwise a failing (or, if left out, skipped) test. */
function describeWith(server: 'etcd' | 'kafka', name: string, body: (endpoint: string) => void): void {
  // Only the integration project's globalSetup provides the servers; in the unit
  // project inject() returns undefined, whatever its declared type says.
  const available = inject(server) as ServerAvailability | undefined;
  if (available === undefined)
    throw new Error(
      `${name} needs a real ${server}, so its file belongs to the integration project: add it to INTEGRATION in vitest.config.ts`,
    );
  const flag = `OPLOG_SKIP_${server.toUpperCase()}=1`;
  if (available.kind === 'ready') describe(name, () => body(available.endpoint));
  else if (available.kind === 'skipped') describe.skip(`${name} (${flag})`, () => it('left out', () => {}));
  else
    describe(name, () =>
      it(`needs a real ${server}`, () => {
        throw new Error(
          `${server} is not available: ${available.reason}. Set ${flag} to leave these tests out.`,
        );
      }),
    );
}

export const describeWithEtcd = (name: string, body: (endpoint: string) => void) =>
  describeWith('etcd', name, body);
export const describeWithKafka = (name: string, body: (endpoint: string) => void) =>
  describeWith('kafka', name, body);
