/**
 * Makes sure a local server program exists before a test or bench starts one, the way
 * `npm test` does on a fresh machine: when it is missing, runs the script `.ci/run`
 * runs (`scripts/etcd.sh install`: Debian's etcd-server, needs root; `scripts/kafka.sh
 * fetch`: Kafka 3.9.1 from Maven Central, needs Maven and Java 17; `scripts/promtool.sh
 * install`: Debian's prometheus package, needs root). EtcdServer.start() and
 * KafkaServer.start() call it, so the global setup, the benches and the fault tests
 * (which start and kill -9 servers of their own even when OPLOG_TEST_ETCD /
 * OPLOG_TEST_KAFKA point at shared ones) all provision the same way; so do the tests of
 * docs/prometheus/ for promtool (test/helpers/ops-docs.ts).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface Provisioning {
  /** What is provided, for the error: "an etcd binary". */
  readonly what: string;
  /** Where it is (a path), or undefined when it is missing. */
  readonly find: () => string | undefined;
  /** The script in scripts/ and its verb that provide it. */
  readonly script: 'etcd.sh' | 'kafka.sh' | 'promtool.sh';
  readonly verb: 'install' | 'fetch';
  /** What a person must install when the script cannot, for the error. */
  readonly install: string;
}

/** The path `find()` returns, running the script first when it returns none; throws naming what to install when it still returns none. */
export function provision(p: Provisioning): string {
  const before = p.find();
  if (before !== undefined) return before;
  const script = join(import.meta.dirname, '../../scripts', p.script);
  const result = spawnSync('bash', [script, p.verb], { stdio: ['ignore', 'inherit', 'inherit'] });
  const after = p.find();
  if (after !== undefined) return after;
  const exit = result.error === undefined ? `exit ${result.status}` : String(result.error);
  throw new Error(
    `${p.what} is needed and scripts/${p.script} ${p.verb} could not provide it (${exit}): ${p.install}`,
  );
}
