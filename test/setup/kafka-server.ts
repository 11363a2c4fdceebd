/**
 * Starts a real Apache Kafka broker (3.9, KRaft, one node acting as broker and
 * controller) as a JVM child process on 127.0.0.1, from the jars that
 * `scripts/kafka.sh fetch` puts in .cache/kafka/libs (Maven Central; start() fetches
 * them when they are missing, see test/setup/provisioning.ts). Used by the global test
 * setup, by fault tests that kill -9 and restart it on the same log dir, and by the
 * benches. With `security` it is a broker as deployments run one: SASL over TLS
 * (see {@link KafkaSecurity}).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import kafkajs from 'kafkajs';
import { provision } from './provisioning.js';
import { freePort, ServerProcess } from './server-process.js';

export const KAFKA_LIBS = resolve(import.meta.dirname, '../../.cache/kafka/libs');

export function kafkaJarsPresent(): boolean {
  return (
    existsSync(KAFKA_LIBS) && readdirSync(KAFKA_LIBS).some((f) => /^kafka_2\.13-3\.9\.\d+\.jar$/.test(f))
  );
}

/**
 * A broker whose only client listener is SASL_SSL (the controller stays PLAINTEXT on
 * loopback): TLS from PEM files, SASL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for
 * every user, the broker itself connecting to its own listener as user `broker` over
 * PLAIN (transaction markers go through it). ACLs are enforced (KRaft's
 * StandardAuthorizer; nothing is allowed without an ACL): a user may do only what
 * {@link KafkaServer.allow} granted it. The super users are `broker` and the
 * controller listener's ANONYMOUS, which no client can be (the client listener is
 * SASL only). Passwords go into the broker's JAAS config and `kafka-storage format
 * --add-scram` as they are, so they must be plain (letters, digits, `-`, `_`).
 */
export interface KafkaSecurity {
  /** PEM: the broker's private key (unencrypted PKCS#8), then its certificate for IP 127.0.0.1. */
  readonly keystoreFile: string;
  /** PEM: the CA that signed the broker's certificate (the broker trusts it as a client of itself). */
  readonly caFile: string;
  /** SASL users, name → password; `broker` is added for the broker itself. */
  readonly users: Readonly<Record<string, string>>;
}

// kafkajs is CommonJS, and Node's ESM loader finds only some of its exports by name
// (not the ACL enums): take them off the default export, which works under tsx too.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } =
  kafkajs;

/** The broker's own SASL user (inter-broker traffic), added to every secured broker. */
const BROKER_USER = { name: 'broker', password: 'broker-secret' } as const;

/** One ACL grant: operations on the resources whose names start with `prefix`. */
export interface KafkaAclGrant {
  readonly resource: 'topic' | 'group' | 'transactional-id';
  readonly prefix: string;
  readonly operations: readonly ('create' | 'describe' | 'read' | 'write' | 'delete')[];
}

/**
 * What oplog's user needs with the default topic prefix `oplog`: its topics
 * (`oplog.<cluster>`, `oplog.<cluster>.epoch`) created, described, read, written and
 * truncated; the transactional id (the topic's name) written; and the throwaway
 * consumer groups its reads join (`oplog-read-<uuid>`) read.
 */
export const OPLOG_KAFKA_ACLS: readonly KafkaAclGrant[] = [
  { resource: 'topic', prefix: 'oplog.', operations: ['create', 'describe', 'read', 'write', 'delete'] },
  { resource: 'transactional-id', prefix: 'oplog.', operations: ['describe', 'write'] },
  { resource: 'group', prefix: 'oplog-read-', operations: ['describe', 'read'] },
];

export class KafkaServer extends ServerProcess {
  private constructor(
    dir: string,
    readonly port: number,
    private readonly controllerPort: number,
    private readonly security: KafkaSecurity | undefined,
    private readonly advertisedPort: number,
  ) {
    super(dir);
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Grants `user` ACLs on a secured broker, as its super user `broker`. */
  async allow(user: string, grants: readonly KafkaAclGrant[]): Promise<void> {
    const security = this.security;
    if (security === undefined) throw new Error('allow(): this broker has no security, hence no ACLs');
    const kafka = new Kafka({
      brokers: [this.endpoint],
      logLevel: logLevel.NOTHING,
      ssl: { ca: [readFileSync(security.caFile)] },
      sasl: { mechanism: 'plain', username: BROKER_USER.name, password: BROKER_USER.password },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createAcls({
        acl: grants.flatMap((grant) =>
          grant.operations.map((operation) => ({
            resourceType: ACL_RESOURCES[grant.resource],
            resourceName: grant.prefix,
            resourcePatternType: ResourcePatternTypes.PREFIXED,
            principal: `User:${user}`,
            host: '*',
            operation: ACL_OPERATIONS[operation],
            permissionType: AclPermissionTypes.ALLOW,
          })),
        ),
      });
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Fetches the jars if missing, then formats and starts a broker on a new temp dir;
   * stop() removes it. Without `security` (the default) one PLAINTEXT listener; with
   * it, SASL_SSL only. `advertisedPort` (plaintext only) is the port the broker tells
   * clients to connect to, when a proxy in front of it listens there; by default its own.
   */
  static async start(
    options: { readonly security?: KafkaSecurity; readonly advertisedPort?: number } = {},
  ): Promise<KafkaServer> {
    if (options.advertisedPort !== undefined && options.security !== undefined)
      throw new Error('KafkaServer.start: advertisedPort is for the plaintext listener only');
    provision({
      what: `the Kafka jars in ${KAFKA_LIBS}`,
      find: () => (kafkaJarsPresent() ? KAFKA_LIBS : undefined),
      script: 'kafka.sh',
      verb: 'fetch',
      install: 'install Maven and Java 17 (Debian/Ubuntu: apt-get install maven openjdk-17-jre-headless)',
    });
    const ports = { broker: await freePort(), controller: await freePort() };
    const server = new KafkaServer(
      mkdtempSync(join(tmpdir(), 'oplog-kafka-')),
      ports.broker,
      ports.controller,
      options.security,
      options.advertisedPort ?? ports.broker,
    );
    return server.startOrRemove(async () => {
      server.format();
      await server.launch();
    });
  }

  /** Writes the broker's config and formats its log dir (KRaft needs a cluster id first). */
  private format(): void {
    const dir = this.dir;
    const properties = serverProperties(dir, this.port, this.controllerPort, this.advertisedPort);
    writeFileSync(
      join(dir, 'server.properties'),
      this.security === undefined
        ? properties
        : securedProperties(properties, this.port, this.controllerPort, this.security),
    );
    writeFileSync(
      join(dir, 'log4j.properties'),
      [
        'log4j.rootLogger=WARN, file',
        'log4j.appender.file=org.apache.log4j.FileAppender',
        `log4j.appender.file.File=${join(dir, 'server.log')}`,
        'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
        '',
      ].join('\n'),
    );
    const format = spawnSync(
      'java',
      [
        ...jvmArgs(dir),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        'b3Bsb2ctdGVzdC1jbHVzdA',
        '-c',
        join(dir, 'server.properties'),
        ...(this.security === undefined ? [] : scramCredentials(this.security)),
      ],
      { encoding: 'utf8' },
    );
    if (format.error !== undefined)
      throw new Error(`kafka storage format: cannot run java (install Java 17): ${format.error.message}`);
    if (format.status !== 0)
      throw new Error(`kafka storage format failed: ${format.stderr || format.stdout}`);
  }

  /** log4j's file (the broker's own errors) and the JVM's output (startup failures). */
  private logs(): string[] {
    return [join(this.dir, 'server.log'), join(this.dir, 'stdout.log')];
  }

  /** Starts (again) on the same ports and log dir; resolves once the port accepts connections. */
  async launch(): Promise<void> {
    const child = this.spawnServer(
      'java',
      [...jvmArgs(this.dir), 'kafka.Kafka', join(this.dir, 'server.properties')],
      join(this.dir, 'stdout.log'),
    );
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw this.failure(`kafka exited with ${child.exitCode}`, this.logs());
      if (await accepts(this.port)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw this.failure('kafka did not listen within 60 s', this.logs());
  }
}

function jvmArgs(dir: string): string[] {
  return [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
    '-cp',
    `${KAFKA_LIBS}/*`,
  ];
}

/** Single-node KRaft; replication settings of 1 because there is one broker. */
export function serverProperties(
  dir: string,
  port: number,
  controllerPort: number,
  advertisedPort = port,
): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${advertisedPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(dir, 'logs')}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    'message.max.bytes=2097152',
    '',
  ].join('\n');
}

const ACL_RESOURCES = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  'transactional-id': AclResourceTypes.TRANSACTIONAL_ID,
} as const;

const ACL_OPERATIONS = {
  create: AclOperationTypes.CREATE,
  describe: AclOperationTypes.DESCRIBE,
  read: AclOperationTypes.READ,
  write: AclOperationTypes.WRITE,
  delete: AclOperationTypes.DELETE,
} as const;

/** Every user, the broker's own included. */
function saslUsers(security: KafkaSecurity): [string, string][] {
  const users: [string, string][] = [
    [BROKER_USER.name, BROKER_USER.password],
    ...Object.entries(security.users),
  ];
  for (const [name, password] of users)
    if (!/^[A-Za-z0-9_-]+$/.test(name) || !/^[A-Za-z0-9_-]+$/.test(password))
      throw new Error(
        `kafka SASL user ${JSON.stringify(name)}: names and passwords must be plain ([A-Za-z0-9_-]+)`,
      );
  return users;
}

/**
 * The default properties with the PLAINTEXT listener replaced by SASL_SSL (the broker
 * reaches itself through it), the mechanisms' JAAS configs and the PEM stores.
 */
function securedProperties(
  properties: string,
  port: number,
  controllerPort: number,
  security: KafkaSecurity,
): string {
  const replaced: Record<string, string> = {
    listeners: `SASL_SSL://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `SASL_SSL://127.0.0.1:${port}`,
    'inter.broker.listener.name': 'SASL_SSL',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
  };
  const plainUsers = saslUsers(security)
    .map(([name, password]) => `user_${name}="${password}"`)
    .join(' ');
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  const lines = properties
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const key = line.slice(0, line.indexOf('='));
      return key in replaced ? `${key}=${replaced[key]}` : line;
    });
  return [
    ...lines,
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol=PLAIN',
    `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${BROKER_USER.name}" password="${BROKER_USER.password}" ${plainUsers};`,
    `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scram}`,
    `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scram}`,
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${security.keystoreFile}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${security.caFile}`,
    'ssl.client.auth=none',
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    `super.users=User:${BROKER_USER.name};User:ANONYMOUS`,
    '',
  ].join('\n');
}

/** `kafka-storage format` arguments that store every user's SCRAM credentials (KRaft keeps them in its metadata log). */
function scramCredentials(security: KafkaSecurity): string[] {
  return saslUsers(security).flatMap(([name, password]) =>
    ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => [
      '--add-scram',
      `${mechanism}=[name=${name},password=${password}]`,
    ]),
  );
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
