/**
 * docker-compose.yml cannot be started on this machine (no Docker engine), so this
 * checks it against the project instead: each oplog node's command and environment
 * load through the real `oplog config --print` (a child process) into the role, stores,
 * listener and peer expected; the etcd members' initial cluster and the Kafka controller
 * voters agree with each other and with each service's listeners; the stores, scrape
 * targets, peers, published ports and health checks name the ports the services listen
 * on; the mounted rules, dashboard and provisioning files are the ones in docs/ (and
 * `promtool check config` accepts the Prometheus config with its rules); the file
 * conforms to the Compose Specification's JSON Schema; settings shared
 * with the scripts and test servers are equal; the oplog health check, run as written
 * against a live node, passes, and fails against a dead port; the Dockerfile builds the
 * entrypoint package.json names.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import type { OplogConfig } from '../../src/config/types.js';
import { runOplog } from '../helpers/cli-process.js';
import { ALERTS_PATH, DASHBOARD_PATH, REPO, promtool, readYaml } from '../helpers/ops-docs.js';
import { runServe, type ServeProcess } from '../helpers/serve-process.js';
import { ETCD_TIMING_FLAGS } from '../setup/etcd-server.js';
import { serverProperties } from '../setup/kafka-server.js';

interface Service {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile: string };
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string | number>>;
  readonly ports?: readonly string[];
  readonly volumes?: readonly string[];
  readonly healthcheck?: {
    readonly test: readonly string[];
    readonly interval?: string;
    readonly retries?: number;
  };
  readonly depends_on?: Readonly<Record<string, { readonly condition: string }>>;
}

const COMPOSE_TEXT = readFileSync(join(REPO, 'docker-compose.yml'), 'utf8');
// Compose resolves `<<: *anchor` merge keys; so must the parser.
const compose = parse(COMPOSE_TEXT, { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const named = (pattern: RegExp) => Object.keys(services).filter((name) => pattern.test(name));
const ETCD = named(/^etcd-\d$/);
const KAFKA = named(/^kafka-\d$/);
const OPLOG = named(/^oplog-\d$/);

/** `--name=value` flags of a command, by name; a repeated flag is refused. */
function flagsOf(command: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (const arg of command) {
    const match = /^(--[a-z-.]+)=(.*)$/.exec(arg);
    if (match === null) continue;
    expect(flags.has(match[1]!), `${match[1]} given twice`).toBe(false);
    flags.set(match[1]!, match[2]!);
  }
  return flags;
}

function flag(service: string, name: string): string {
  const value = flagsOf(services[service]!.command ?? []).get(name);
  expect(value, `${service} ${name}`).toBeDefined();
  return value!;
}

function env(service: string, name: string): string {
  const value = services[service]!.environment?.[name];
  expect(value, `${service} ${name}`).toBeDefined();
  return String(value);
}

/** `http://host:port` → [host, port]. */
function hostPort(url: string): [string, number] {
  const parsed = new URL(url);
  return [parsed.hostname, Number(parsed.port)];
}

/** `NAME://host:port,…` → listener name → [host, port] (host '' when unbound). */
function listeners(text: string): Map<string, [string, number]> {
  return new Map(
    text.split(',').map((item) => {
      const match = /^([A-Z_]+):\/\/([^:]*):(\d+)$/.exec(item);
      expect(match, item).not.toBeNull();
      return [match![1]!, [match![2]!, Number(match![3])]] as const;
    }),
  );
}

/** Published ports `ip:host:container` → container port → host port. */
function published(service: string): Map<number, number> {
  return new Map(
    (services[service]!.ports ?? []).map((spec) => {
      const [ip, hostPortText, containerPort] = spec.split(':');
      expect(ip, `${service} publishes on loopback only`).toBe('127.0.0.1');
      return [Number(containerPort), Number(hostPortText)] as const;
    }),
  );
}

/** Bind mounts (`./path:/target[:ro]`) → container target → repository path. */
function bindMounts(service: string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const spec of services[service]!.volumes ?? []) {
    const [source, target] = spec.split(':') as [string, string];
    if (source.startsWith('./')) mounts.set(target, source.slice(2));
    else expect(compose.volumes, `${service}: volume ${source} is declared`).toHaveProperty(source);
  }
  return mounts;
}

/** The one mount whose target is `target` or holds it; the repository path it maps to. */
function hostPathOf(service: string, target: string): string {
  for (const [mountTarget, source] of bindMounts(service)) {
    if (target === mountTarget) return source;
    if (target.startsWith(`${mountTarget}/`)) return posix.join(source, target.slice(mountTarget.length + 1));
  }
  throw new Error(`${service} mounts nothing at ${target}`);
}

describe('docker-compose.yml', () => {
  it('conforms to the Compose Specification (its JSON Schema, test/fixtures/compose-spec/)', () => {
    const schema = JSON.parse(
      readFileSync(join(REPO, 'test/fixtures/compose-spec/compose-spec.json'), 'utf8'),
    ) as object;
    // The schema names its draft by an https URL ajv does not know; its formats are
    // Compose's own (durations, ports), checked here by the tests below instead.
    const validate = new Ajv({ strict: false, allErrors: true, validateSchema: false }).compile(schema);
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
    const misspelled = parse(COMPOSE_TEXT.replace('healthcheck:', 'healthchek:'), { merge: true }) as unknown;
    expect(validate(misspelled)).toBe(false);
  });

  it('says at its top that it has not been started here, and has every service with a health check', () => {
    expect(COMPOSE_TEXT.split('\n').slice(0, 10).join('\n')).toMatch(
      /NOT STARTED ON THE DEVELOPMENT MACHINE/,
    );
    expect(ETCD).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
    expect(KAFKA).toEqual(['kafka-1', 'kafka-2', 'kafka-3']);
    expect(OPLOG).toEqual(['oplog-1', 'oplog-2', 'oplog-3']);
    expect(Object.keys(services).sort()).toEqual(
      [...ETCD, ...KAFKA, ...OPLOG, 'grafana', 'prometheus'].sort(),
    );
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.test[0], name).toMatch(/^CMD(-SHELL)?$/);
      expect(service.healthcheck?.interval, name).toMatch(/^\d+s$/);
      expect(service.healthcheck?.retries, name).toBeGreaterThan(0);
      for (const source of bindMounts(name).values())
        expect(existsSync(join(REPO, source)), `${name} mounts ${source}`).toBe(true);
    }
  });

  it('runs a 3-member etcd 3.4 whose members agree on the initial cluster and advertise their own listeners', () => {
    const clusters = new Set(ETCD.map((m) => flag(m, '--initial-cluster')));
    expect(clusters.size).toBe(1);
    const members = new Map([...clusters][0]!.split(',').map((item) => item.split('=') as [string, string]));
    expect([...members.keys()]).toEqual(ETCD);
    expect(new Set(ETCD.map((m) => flag(m, '--initial-cluster-token'))).size).toBe(1);
    for (const member of ETCD) {
      const service = services[member]!;
      expect(service.image).toMatch(/^quay\.io\/coreos\/etcd:v3\.4\.\d+$/);
      expect(flag(member, '--name')).toBe(member);
      expect(flag(member, '--initial-cluster-state')).toBe('new');
      expect(flag(member, '--initial-advertise-peer-urls')).toBe(members.get(member));
      const [peerHost, peerPort] = hostPort(flag(member, '--initial-advertise-peer-urls'));
      expect([peerHost, peerPort]).toEqual([member, hostPort(flag(member, '--listen-peer-urls'))[1]]);
      const [clientHost, clientPort] = hostPort(flag(member, '--advertise-client-urls'));
      expect([clientHost, clientPort]).toEqual([member, hostPort(flag(member, '--listen-client-urls'))[1]]);
      expect(service.healthcheck!.test).toContain(`--endpoints=http://127.0.0.1:${clientPort}`);
      expect(published(member).has(clientPort), `${member} publishes its client port`).toBe(true);
      // The raft timing the tests and scripts/etcd.sh use.
      for (const timing of ETCD_TIMING_FLAGS) expect(service.command, member).toContain(timing);
    }
  });

  it('runs 3 Kafka 3.9.1 brokers in KRaft mode with agreeing voters, replication factor 3 and min ISR 2', () => {
    const pom = readFileSync(join(REPO, 'scripts/kafka/pom.xml'), 'utf8');
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)![1]!;
    const voters = new Set(KAFKA.map((b) => env(b, 'KAFKA_CONTROLLER_QUORUM_VOTERS')));
    expect(voters.size).toBe(1);
    expect(new Set(KAFKA.map((b) => env(b, 'CLUSTER_ID'))).size).toBe(1);
    expect(Buffer.from(env('kafka-1', 'CLUSTER_ID'), 'base64url')).toHaveLength(16);
    const voterList = [...voters][0]!.split(',');
    const ids = KAFKA.map((b) => env(b, 'KAFKA_NODE_ID'));
    expect(new Set(ids).size).toBe(KAFKA.length);
    // What test/setup/kafka-server.ts runs, where it is not about replication.
    const shared = new Map(
      serverProperties('/x', 9092, 9093)
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => line.split('=') as [string, string]),
    );
    for (const [index, broker] of KAFKA.entries()) {
      expect(services[broker]!.image).toBe(`apache/kafka:${version}`);
      expect(env(broker, 'KAFKA_PROCESS_ROLES')).toBe('broker,controller');
      const own = listeners(env(broker, 'KAFKA_LISTENERS'));
      const advertised = listeners(env(broker, 'KAFKA_ADVERTISED_LISTENERS'));
      expect(voterList[index]).toBe(`${ids[index]}@${broker}:${own.get('CONTROLLER')![1]}`);
      expect(advertised.get('PLAINTEXT')).toEqual([broker, own.get('PLAINTEXT')![1]]);
      const external = own.get('EXTERNAL')![1];
      expect(advertised.get('EXTERNAL')).toEqual(['127.0.0.1', external]);
      expect(published(broker).get(external), `${broker} publishes its EXTERNAL port as itself`).toBe(
        external,
      );
      expect(services[broker]!.healthcheck!.test.join(' ')).toContain(
        `--bootstrap-server 127.0.0.1:${own.get('PLAINTEXT')![1]}`,
      );
      const protocols = env(broker, 'KAFKA_LISTENER_SECURITY_PROTOCOL_MAP').split(',');
      for (const name of own.keys()) expect(protocols, broker).toContain(`${name}:PLAINTEXT`);
      expect(env(broker, 'KAFKA_DEFAULT_REPLICATION_FACTOR')).toBe('3');
      expect(env(broker, 'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR')).toBe('3');
      expect(env(broker, 'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR')).toBe('3');
      expect(env(broker, 'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR')).toBe('2');
      expect(env(broker, 'KAFKA_MIN_INSYNC_REPLICAS')).toBe('2');
      for (const key of [
        'num.partitions',
        'auto.create.topics.enable',
        'group.initial.rebalance.delay.ms',
        'message.max.bytes',
        'controller.listener.names',
        'inter.broker.listener.name',
      ])
        expect(env(broker, `KAFKA_${key.replaceAll('.', '_').toUpperCase()}`), key).toBe(shared.get(key));
    }
  });

  describe('the oplog nodes, through `oplog config --print`', () => {
    const configs = new Map<string, OplogConfig>();

    beforeAll(async () => {
      const printed = OPLOG.map((node) => {
        const service = services[node]!;
        expect(service.command?.[0]).toBe('serve');
        const environment = Object.fromEntries(
          Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]),
        );
        // The config file as the container sees it, read from the repository.
        environment['OPLOG_CONFIG'] = join(REPO, hostPathOf(node, env(node, 'OPLOG_CONFIG')));
        return runOplog(['config', '--print', ...service.command!.slice(1)], environment);
      });
      for (const [index, result] of (await Promise.all(printed)).entries()) {
        expect(result.status, `${OPLOG[index]}: ${result.stderr}`).toBe(0);
        configs.set(OPLOG[index]!, JSON.parse(result.stdout) as OplogConfig);
      }
    }, 60_000);

    it('run `serve --role auto` with the cluster, stores and Kafka replication the compose servers provide', () => {
      const etcdHosts = ETCD.map((m) => `${m}:${hostPort(flag(m, '--listen-client-urls'))[1]}`);
      const brokers = KAFKA.map((b) => `${b}:${listeners(env(b, 'KAFKA_LISTENERS')).get('PLAINTEXT')![1]}`);
      for (const node of OPLOG) {
        const config = configs.get(node)!;
        expect(config.role).toBe('auto');
        expect(config.nodeId).toBe(node);
        expect(config.clusterId).toBe('compose');
        const [etcd, kafka] = config.stores;
        expect(etcd).toMatchObject({ kind: 'etcd', hosts: etcdHosts });
        expect(kafka).toMatchObject({ kind: 'kafka', brokers, replicationFactor: 3 });
        const minIsr = (kafka as { minInsyncReplicas: number }).minInsyncReplicas;
        expect(String(minIsr)).toBe(env('kafka-1', 'KAFKA_MIN_INSYNC_REPLICAS'));
        expect(config.stores).toHaveLength(2);
        for (const dependency of [...ETCD, ...KAFKA])
          expect(services[node]!.depends_on?.[dependency]?.condition, `${node} waits for ${dependency}`).toBe(
            'service_healthy',
          );
      }
      expect(new Set(OPLOG.map((node) => configs.get(node)!.nodeId)).size).toBe(OPLOG.length);
    });

    it("listen where the health check, the published port, the peers and Prometheus' targets look", () => {
      const httpPort = (node: string) => Number(configs.get(node)!.server.http.split(':').at(-1));
      const prometheus = readYaml('docs/prometheus/prometheus.yml') as {
        scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
      };
      const alertJobs = new Set(
        [...readFileSync(join(REPO, ALERTS_PATH), 'utf8').matchAll(/job="([^"]+)"/g)].map((m) => m[1]),
      );
      expect([...alertJobs]).toEqual(['oplog']);
      const job = prometheus.scrape_configs.find((c) => c.job_name === 'oplog');
      expect(job, 'the job the alert rules name').toBeDefined();
      expect(job!.static_configs.flatMap((c) => c.targets).sort()).toEqual(
        OPLOG.map((node) => `${node}:${httpPort(node)}`).sort(),
      );
      for (const node of OPLOG) {
        const config = configs.get(node)!;
        expect(config.server.http).toMatch(/^0\.0\.0\.0:\d+$/); // reachable from the other containers
        expect(services[node]!.healthcheck!.test.join(' ')).toContain(
          `http://127.0.0.1:${httpPort(node)}/healthz`,
        );
        expect(published(node).has(httpPort(node)), `${node} publishes its listener`).toBe(true);
        const [peerHost, peerPort] = hostPort(config.bootstrap.peer!);
        expect(OPLOG.filter((other) => other !== node)).toContain(peerHost);
        expect(peerPort).toBe(httpPort(peerHost));
        // Snapshots on the node's named volume, not in the container's writable layer.
        const volume = (services[node]!.volumes ?? [])
          .map((v) => v.split(':'))
          .find(([s]) => s === `${node}-data`);
        expect(config.snapshots.dir.startsWith(`${volume![1]}/`), config.snapshots.dir).toBe(true);
      }
    });
  });

  describe('the oplog health check, run as written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oplog-compose-'));
    let node: ServeProcess;
    beforeAll(async () => {
      node = await runServe([
        '--cluster',
        'health',
        '--store',
        `file:${join(dir, 'data')}`,
        '--http',
        '127.0.0.1:0',
        '--snapshot-dir',
        join(dir, 'snapshots'),
      ]);
    }, 60_000);
    afterAll(async () => {
      await node?.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    const run = (port: number) => {
      const test = services['oplog-1']!.healthcheck!.test;
      expect(test.slice(0, 2)).toEqual(['CMD', 'node']);
      const args = test.slice(2).map((arg) => arg.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
      return spawnSync(process.execPath, args, { timeout: 10_000 }).status;
    };

    it('passes against a live node and fails against a port nothing listens on', () => {
      expect(run(Number(new URL(node.url).port))).toBe(0);
      expect(run(9)).toBe(1);
    });
  });

  it('mounts the rules and config into Prometheus', () => {
    const command = services['prometheus']!.command!;
    const configTarget = flagsOf(command).get('--config.file')!;
    expect(hostPathOf('prometheus', configTarget)).toBe('docs/prometheus/prometheus.yml');
    const prometheus = readYaml('docs/prometheus/prometheus.yml') as { rule_files: string[] };
    for (const rules of prometheus.rule_files)
      expect(hostPathOf('prometheus', posix.join(posix.dirname(configTarget), rules))).toBe(ALERTS_PATH);
    const port = Number(flagsOf(command).get('--web.listen-address')!.split(':')[1]);
    expect(services['prometheus']!.healthcheck!.test).toContain(`http://127.0.0.1:${port}/-/ready`);
    expect(published('prometheus').get(port)).toBe(port);
  });

  // As in dashboard-alerts.test.ts: promtool is installed when missing, skipped only on purpose.
  (process.env['OPLOG_SKIP_PROMTOOL'] === '1' ? it.skip : it)(
    'has a Prometheus config promtool check config accepts, rules included',
    () => {
      const check = spawnSync(promtool()!, ['check', 'config', 'docs/prometheus/prometheus.yml'], {
        cwd: REPO,
        encoding: 'utf8',
      });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
      expect(check.stdout).toContain('SUCCESS: 1 rule files found');
    },
    600_000,
  );

  it('provisions Grafana with the stack Prometheus and docs/grafana/oplog.json', () => {
    expect(hostPathOf('grafana', '/etc/grafana/provisioning')).toBe('docs/grafana/provisioning');
    const sources = readYaml('docs/grafana/provisioning/datasources/prometheus.yml') as {
      datasources: { type: string; url: string; isDefault: boolean }[];
    };
    const port = flagsOf(services['prometheus']!.command!).get('--web.listen-address')!.split(':')[1];
    expect(sources.datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', url: `http://prometheus:${port}`, isDefault: true }),
    ]);
    const providers = readYaml('docs/grafana/provisioning/dashboards/oplog.yml') as {
      providers: { type: string; options: { path: string } }[];
    };
    expect(providers.providers).toHaveLength(1);
    const dashboards = providers.providers[0]!.options.path;
    expect(hostPathOf('grafana', posix.join(dashboards, 'oplog.json'))).toBe(DASHBOARD_PATH);
    expect(services['grafana']!.depends_on?.['prometheus']?.condition).toBe('service_healthy');
  });
});

describe('Dockerfile', () => {
  const lines = readFileSync(join(REPO, 'Dockerfile'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    engines: { node: string };
  };

  it('is what the oplog services build, and runs the CLI package.json names on a supported Node', () => {
    for (const node of OPLOG)
      expect(services[node]!.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(lines.at(-2)).toBe(`ENTRYPOINT ["node", "${pkg.bin['oplog']!.replace(/^\.\//, '')}"]`);
    const majors = lines.filter((l) => l.startsWith('FROM ')).map((l) => /^FROM node:(\d+)-/.exec(l)?.[1]);
    expect(majors).toHaveLength(2);
    for (const major of majors) expect(pkg.engines.node).toContain(`^${major}.`);
    expect(lines).toContain('RUN npm ci --no-fund --no-audit');
    expect(lines.some((l) => l.startsWith('RUN npm run build'))).toBe(true);
    for (const line of lines.filter((l) => /^COPY (?!--from)/.test(l)))
      for (const source of line.split(/\s+/).slice(1, -1))
        expect(existsSync(join(REPO, source)), `${line}: ${source}`).toBe(true);
  });
});
