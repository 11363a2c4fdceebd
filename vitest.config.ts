import { defineConfig } from 'vitest/config';

// Integration tests start real servers (etcd, Kafka) once per run in globalSetup;
// they get generous timeouts because a broker's first transaction is slow.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
