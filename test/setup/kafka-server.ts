/**
 * Starts a real Apache Kafka broker (3.9, KRaft, one node acting as broker and
 * controller) as a JVM child process on 127.0.0.1, from the jars that
 * `scripts/kafka.sh fetch` puts in .cache/kafka/libs (Maven Central; start() fetches
 * them when they are missing, see test/setup/provisioning.ts). Used by the global test
 * setup, by fault tests that kill -9 and restart it on the same log dir, and by the
 * benches.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { provision } from './provisioning.js';
import { freePort, ServerProcess } from './server-process.js';

export const KAFKA_LIBS = resolve(import.meta.dirname, '../../.cache/kafka/libs');

export function kafkaJarsPresent(): boolean {
  return (
    existsSync(KAFKA_LIBS) && readdirSync(KAFKA_LIBS).some((f) => /^kafka_2\.13-3\.9\.\d+\.jar$/.test(f))
  );
}

export class KafkaServer extends ServerProcess {
  private constructor(
    dir: string,
    readonly port: number,
    private readonly controllerPort: number,
  ) {
    super(dir);
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Fetches the jars if missing, then formats and starts a broker on a new temp dir; stop() removes it. */
  static async start(): Promise<KafkaServer> {
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
    );
    return server.startOrRemove(async () => {
      server.format();
      await server.launch();
    });
  }

  /** Writes the broker's config and formats its log dir (KRaft needs a cluster id first). */
  private format(): void {
    const dir = this.dir;
    writeFileSync(join(dir, 'server.properties'), serverProperties(dir, this.port, this.controllerPort));
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
export function serverProperties(dir: string, port: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
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
