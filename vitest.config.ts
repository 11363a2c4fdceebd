import { defineConfig } from 'vitest/config';

/**
 * Test files that need real servers: they call describeWithEtcd / describeWithKafka
 * (test/setup/servers.ts), and the fault tests among them also start their own etcd or
 * broker to kill -9 it. Everything else under test/ is a unit test: no servers, and it
 * runs in seconds. A test that needs a server but is missing here fails in the unit
 * project with a message saying to add it.
 */
const INTEGRATION = [
  'test/chaos/chaos.test.ts',
  'test/cli/bench-failover.test.ts',
  'test/bench/replay-networked.test.ts',
  'test/cli/bench-servers.test.ts',
  'test/cli/no-such-log.test.ts',
  'test/cli/verify-inspect.test.ts',
  'test/primary/replaced-writer.test.ts',
  'test/roles/**/*.test.ts',
  'test/server/etcd-cluster.test.ts',
  'test/server/serve-secured.test.ts',
  'test/server/serve-servers.test.ts',
  'test/server/serve-watch-repair.test.ts',
  'test/snapshot/replay.test.ts',
  'test/node/auto-failover.test.ts',
  'test/standby/corruption.test.ts',
  'test/standby/network-cut.test.ts',
  'test/standby/snapshot-install.test.ts',
  'test/stores/etcd-store.*.test.ts',
  'test/stores/kafka-store.*.test.ts',
];

// Two projects: `vitest run --project unit` (npm run test:unit) starts no server;
// `--project integration` starts etcd and Kafka once per run in its globalSetup, and
// gets generous timeouts because a broker's first transaction is slow. `vitest run`
// (npm test) runs both.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: INTEGRATION,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION,
          globalSetup: ['test/setup/global-setup.ts'],
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
