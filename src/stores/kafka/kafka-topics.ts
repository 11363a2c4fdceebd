/**
 * The Kafka store's topics and offsets: creating (or, for read-only tools, requiring)
 * the log and epoch topics, the committed offsets of a topic, seq → offset through the
 * broker's time index (every message's timestamp is its record's firstSeq), the last
 * committed message of a topic, and turning a message back into a verified record.
 * Client errors become StoreUnavailableError naming the operation (ClosedError once the
 * store is closed).
 */
import type { Admin, Kafka } from 'kafkajs';
import {
  ClosedError,
  CorruptStoreError,
  InvalidInputError,
  OplogError,
  StoreUnavailableError,
} from '../../core/errors.js';
import { verifyRecord, type VerifiedRecord } from '../../core/record-codec.js';
import { readTopic } from './kafka-reader.js';

export interface KafkaTopicsOptions {
  readonly clusterId: string;
  readonly replicationFactor?: number;
  readonly minInsyncReplicas?: number;
  readonly createTopics?: boolean;
}

/** Of the topics created when the options name none: right for one broker only. */
export const DEFAULT_REPLICATION_FACTOR = 1;
export const DEFAULT_MIN_INSYNC_REPLICAS = 1;

export class KafkaTopics {
  private admin: Admin | undefined;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly kafka: Kafka,
    /** The log topic: one partition, one message per record. */
    readonly topic: string,
    /** One message per fence, the epoch as decimal text. */
    readonly epochTopic: string,
    private readonly options: KafkaTopicsOptions,
    private readonly isClosed: () => boolean,
  ) {}

  /** Translates a client failure of `fn` into the store's errors, naming `operation`. */
  async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      if (cause instanceof OplogError) throw cause;
      if (this.isClosed()) throw new ClosedError('kafka store', { cause });
      throw new StoreUnavailableError(
        operation,
        { cluster: this.options.clusterId, topic: this.topic },
        { cause },
      );
    }
  }

  async adminClient(): Promise<Admin> {
    if (this.admin === undefined) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  async disconnect(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
  }

  /**
   * Creates the log and epoch topics when missing (once per store; retried after a
   * failure). With `createTopics: false` a missing topic is an InvalidInputError naming
   * it, and nothing is created.
   */
  ensure(): Promise<void> {
    this.ready ??= this.call('kafka create topics', async () => {
      const admin = await this.adminClient();
      const existing = new Set(await admin.listTopics());
      if (this.options.createTopics === false) {
        const missing = [this.topic, this.epochTopic].filter((t) => !existing.has(t));
        if (missing.length > 0)
          throw new InvalidInputError(
            'cluster',
            `no Kafka topic ${missing.join(', ')} (nothing was created)`,
          );
        return;
      }
      const configEntries = [
        { name: 'retention.ms', value: '-1' },
        {
          name: 'min.insync.replicas',
          value: String(this.options.minInsyncReplicas ?? DEFAULT_MIN_INSYNC_REPLICAS),
        },
        { name: 'message.timestamp.type', value: 'CreateTime' },
      ];
      const topics = [this.topic, this.epochTopic]
        .filter((t) => !existing.has(t))
        .map((topic) => ({
          topic,
          numPartitions: 1,
          replicationFactor: this.options.replicationFactor ?? DEFAULT_REPLICATION_FACTOR,
          configEntries,
        }));
      if (topics.length > 0)
        await admin.createTopics({ topics, waitForLeaders: true }).catch((error: unknown) => {
          if (kafkaErrorType(error) !== 'TOPIC_ALREADY_EXISTS') throw error;
        });
    }).catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  /** The last committed message of a topic, looking back in growing windows. */
  async lastMessage(topic: string): Promise<{ value: Buffer; offset: string } | undefined> {
    const { low, high } = await this.endOffsets(topic);
    for (let window = 8n; ; window *= 8n) {
      const from = high - window > low ? high - window : low;
      let last: { value: Buffer; offset: string } | undefined;
      const stream = readTopic(this.kafka, { topic, fromOffset: from, endOffset: high });
      try {
        for await (const message of stream)
          if (message.value !== null) last = { value: message.value, offset: message.offset };
      } finally {
        await stream.close();
      }
      if (last !== undefined || from === low) return last;
    }
  }

  /** The first retained and the committed end offset of `topic`. */
  async endOffsets(topic: string): Promise<{ low: bigint; high: bigint }> {
    const [partition] = await this.call('kafka offsets', async () =>
      (await this.adminClient()).fetchTopicOffsets(topic),
    );
    return { low: BigInt(partition?.low ?? '0'), high: BigInt(partition?.high ?? '0') };
  }

  /** First offset whose record starts at or after `seq` (by the message timestamp), or `high`. */
  async offsetAtOrAfter(seq: bigint, high: bigint): Promise<bigint> {
    const [entry] = await this.call('kafka offset lookup', async () =>
      (await this.adminClient()).fetchTopicOffsetsByTimestamp(this.topic, Number(seq)),
    );
    const offset = BigInt(entry?.offset ?? '-1');
    return offset < 0n || offset > high ? high : offset;
  }

  /** The record a log message holds; a CorruptStoreError naming topic@offset if none. */
  verifyMessage(value: Buffer | null, offset: string): VerifiedRecord {
    try {
      if (value === null) throw new Error('empty message');
      return verifyRecord(new Uint8Array(value.buffer, value.byteOffset, value.length));
    } catch (cause) {
      throw new CorruptStoreError(`${this.topic}@${offset}`, undefined, 'message is not a valid record', {
        cause,
      });
    }
  }
}

/** The Kafka error type name (`PRODUCER_FENCED`, …) somewhere in a kafkajs error's chain. */
export function kafkaErrorType(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const e = current as { type?: unknown; name?: unknown; originalError?: unknown; cause?: unknown };
    if (typeof e.type === 'string') return e.type;
    if (e.name === 'KafkaJSProducerFencedError') return 'PRODUCER_FENCED';
    current = e.originalError ?? e.cause;
  }
  return undefined;
}
