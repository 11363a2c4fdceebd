/**
 * Three real Kafka brokers (3.9, KRaft; each node is a broker and one of three
 * controller voters) as JVM child processes on 127.0.0.1, owned by one test, from the
 * jars `scripts/kafka.sh fetch` provides; every broker under the watchdog each test
 * server has (server-process.ts). Internal topics are replicated three ways with
 * min.insync.replicas 2, so one broker may be kill -9'd and launched again on its log
 * dir while transactions go on. The single broker (kafka-server.ts) is untouched.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { KAFKA_LIBS, kafkaJarsPresent } from './kafka-server.js';
import { provision } from './provisioning.js';
import { freePort, ServerProcess } from './server-process.js';

/** The KRaft cluster id every broker of a KafkaCluster is formatted with (base64 of 16 bytes). */
const CLUSTER_ID = 'b3Bsb2ctdGVzdC0zYnJrcw';

interface BrokerPorts {
  readonly broker: number;
  readonly controller: number;
}

export class KafkaBroker extends ServerProcess {
  constructor(
    dir: string,
    readonly nodeId: number,
    readonly ports: BrokerPorts,
    private readonly voters: string,
    private readonly heap: string,
  ) {
    super(dir);
  }

  get endpoint(): string {
    return `127.0.0.1:${this.ports.broker}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Writes its config and formats its log dir with the cluster's id. */
  format(): void {
    writeFileSync(join(this.dir, 'server.properties'), this.properties());
    writeFileSync(
      join(this.dir, 'log4j.properties'),
      [
        'log4j.rootLogger=WARN, file',
        'log4j.appender.file=org.apache.log4j.FileAppender',
        `log4j.appender.file.File=${join(this.dir, 'server.log')}`,
        'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
        '',
      ].join('\n'),
    );
    const format = spawnSync(
      'java',
      [
        ...this.jvmArgs(),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        CLUSTER_ID,
        '-c',
        join(this.dir, 'server.properties'),
      ],
      { encoding: 'utf8' },
    );
    if (format.error !== undefined)
      throw new Error(`kafka storage format: cannot run java (install Java 17): ${format.error.message}`);
    if (format.status !== 0)
      throw new Error(`kafka storage format failed: ${format.stderr || format.stdout}`);
  }

  /** Starts the JVM and returns at once: a broker serves only once the controller quorum has a leader. */
  spawn(): void {
    this.spawnServer(
      'java',
      [...this.jvmArgs(), 'kafka.Kafka', join(this.dir, 'server.properties')],
      join(this.dir, 'stdout.log'),
    );
  }

  /** Starts it (again, on its log dir) and waits until its port accepts connections. */
  async launch(timeoutMs = 60_000): Promise<void> {
    this.spawn();
    await this.listening(timeoutMs);
  }

  async listening(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw this.error('exited before listening');
      if (await accepts(this.ports.broker)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw this.error(`did not listen within ${timeoutMs} ms`);
  }

  error(message: string): Error {
    return this.failure(`kafka broker ${this.nodeId}: ${message}`, [
      join(this.dir, 'server.log'),
      join(this.dir, 'stdout.log'),
    ]);
  }

  private jvmArgs(): string[] {
    return [
      `-Xms${this.heap}`,
      `-Xmx${this.heap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${join(this.dir, 'log4j.properties')}`,
      '-cp',
      `${KAFKA_LIBS}/*`,
    ];
  }

  private properties(): string {
    const { broker, controller } = this.ports;
    return [
      'process.roles=broker,controller',
      `node.id=${this.nodeId}`,
      `controller.quorum.voters=${this.voters}`,
      `listeners=PLAINTEXT://127.0.0.1:${broker},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${broker}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(this.dir, 'logs')}`,
      'num.partitions=1',
      'auto.create.topics.enable=false',
      'default.replication.factor=3',
      'min.insync.replicas=2',
      'unclean.leader.election.enable=false',
      'offsets.topic.replication.factor=3',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=3',
      'transaction.state.log.min.isr=2',
      'transaction.state.log.num.partitions=1',
      'group.initial.rebalance.delay.ms=0',
      'message.max.bytes=2097152',
      'replica.fetch.max.bytes=2097152',
      '',
    ].join('\n');
  }
}

export class KafkaCluster {
  private constructor(readonly brokers: readonly KafkaBroker[]) {}

  get endpoints(): string[] {
    return this.brokers.map((b) => b.endpoint);
  }

  /**
   * Fetches the jars if missing, formats `size` brokers on new temp dirs, starts them
   * and waits until every one listens; stop() removes the dirs. `heap` is each JVM's
   * -Xms and -Xmx.
   */
  static async start({ size = 3, heap = '384m' }: { size?: number; heap?: string } = {}) {
    provision({
      what: `the Kafka jars in ${KAFKA_LIBS}`,
      find: () => (kafkaJarsPresent() ? KAFKA_LIBS : undefined),
      script: 'kafka.sh',
      verb: 'fetch',
      install: 'install Maven and Java 17 (Debian/Ubuntu: apt-get install maven openjdk-17-jre-headless)',
    });
    const ports: BrokerPorts[] = [];
    for (let i = 0; i < size; i++) ports.push({ broker: await freePort(), controller: await freePort() });
    const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p.controller}`).join(',');
    const brokers = ports.map(
      (p, i) =>
        new KafkaBroker(mkdtempSync(join(tmpdir(), `oplog-kafka-b${i + 1}-`)), i + 1, p, voters, heap),
    );
    const cluster = new KafkaCluster(brokers);
    try {
      for (const broker of brokers) broker.format();
      for (const broker of brokers) broker.spawn();
      await Promise.all(brokers.map((b) => b.listening(120_000)));
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /**
   * Partition 0 of `topic` as the brokers that are up see it: its leader (a broker of
   * this cluster) and the in-sync replicas' node ids; undefined while it has no leader.
   */
  async partition(topic: string): Promise<{ leader: KafkaBroker; isr: number[] } | undefined> {
    const up = this.brokers.filter((b) => b.running).map((b) => b.endpoint);
    const admin = new Kafka({ brokers: up, logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
    try {
      await admin.connect();
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const partition = metadata.topics[0]?.partitions.find((p) => p.partitionId === 0);
      const leader = this.brokers.find((b) => b.nodeId === partition?.leader && b.running);
      return leader === undefined ? undefined : { leader, isr: partition!.isr };
    } catch {
      return undefined;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.stop()));
  }
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
