/**
 * The Kafka store's topics and offsets: creating (or, for read-only tools, requiring)
 * the log and epoch topics, the committed offsets of a topic, seq → offset through the
 * broker's time index (every message's timestamp is its record's firstSeq), the last
 * committed message of a topic, and turning a message back into a verified record.
 * Client errors become StoreUnavailableError naming the operation (StoreAuthError when
 * the broker refused our user or TLS refused the broker, ClosedError once the store is
 * closed).
 */
import type { Admin, Kafka } from 'kafkajs';
import {
  ClosedError,
  CorruptStoreError,
  InvalidInputError,
  OplogError,
  StoreAuthError,
  StoreUnavailableError,
  type StoreAuthRefusal,
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
  private admin: Promise<Admin> | undefined;
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
      throw kafkaFailure(cause, operation, { cluster: this.options.clusterId, topic: this.topic });
    }
  }

  /**
   * The one admin client, connected once (concurrent callers share the connecting one).
   * Held as a promise so that disconnect() during the connect still reaches it, and
   * refused once the store is closed: an admin connected after close would keep its
   * sockets, and the process, alive.
   */
  adminClient(): Promise<Admin> {
    if (this.isClosed()) return Promise.reject(new ClosedError('kafka store'));
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })().catch((error: unknown) => {
      this.admin = undefined;
      throw error;
    });
    return this.admin;
  }

  /**
   * Disconnects the admin once a topic creation in flight has finished: kafkajs's
   * createTopics polls for the new topics' leaders and reconnects the admin's broker
   * connection if it was cut meanwhile, leaving a socket open for good.
   */
  async disconnect(): Promise<void> {
    await this.ready?.catch(() => undefined);
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
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

  /**
   * The last committed message of a topic, looking back in growing windows. The
   * reading consumer's failures are translated like every other call's (a consumer
   * that crashed while joining its group, a group the user may not read).
   */
  async lastMessage(topic: string): Promise<{ value: Buffer; offset: string } | undefined> {
    const { low, high } = await this.endOffsets(topic);
    return this.call('kafka read last message', async () => {
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
    });
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

/**
 * A kafkajs failure as the store's error: StoreAuthError (not retryable) when the broker
 * refused who we are or TLS refused the broker ({@link kafkaAuthRefusal}), else
 * StoreUnavailableError.
 */
export function kafkaFailure(
  cause: unknown,
  operation: string,
  context: Readonly<Record<string, string | undefined>>,
): StoreAuthError | StoreUnavailableError {
  const refusal = kafkaAuthRefusal(cause);
  return refusal === undefined
    ? new StoreUnavailableError(operation, context, { cause })
    : new StoreAuthError(operation, refusal, context, { cause });
}

/** Kafka's error types for a user the broker's authorizer refuses. */
const AUTHORIZATION_FAILURES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);

/** Kafka's error types for SASL refusing our credentials or mechanism. */
const SASL_FAILURES = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
]);

/**
 * Node's codes for a server certificate that the configured CA does not vouch for
 * (unknown issuer, self-signed, expired or not yet valid, another host's name).
 */
const TLS_VERIFY_FAILURES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Whether a kafkajs error (anywhere in its chain: kafkajs wraps a connection error in
 * KafkaJSNumberOfRetriesExceeded, and a topic creation's per-topic errors in a
 * KafkaJSAggregateError) is the broker refusing our SASL credentials or our user's
 * ACLs, or TLS refusing the broker's certificate. None of these passes on retry. A
 * client without SASL (or without TLS) on a SASL_SSL listener is not among them: the
 * broker just closes the connection, which looks like any outage.
 */
export function kafkaAuthRefusal(error: unknown, depth = 0): StoreAuthRefusal | undefined {
  if (depth >= 5 || error === undefined || error === null) return undefined;
  const e = error as {
    name?: unknown;
    type?: unknown;
    code?: unknown;
    errors?: unknown;
    originalError?: unknown;
    cause?: unknown;
  };
  if (e.name === 'KafkaJSSASLAuthenticationError') return 'credentials';
  if (typeof e.type === 'string' && SASL_FAILURES.has(e.type)) return 'credentials';
  if (typeof e.type === 'string' && AUTHORIZATION_FAILURES.has(e.type)) return 'permission';
  if (typeof e.code === 'string' && TLS_VERIFY_FAILURES.has(e.code)) return 'tls';
  if (Array.isArray(e.errors))
    for (const inner of e.errors.slice(0, 16)) {
      const refusal = kafkaAuthRefusal(inner, depth + 1);
      if (refusal !== undefined) return refusal;
    }
  return kafkaAuthRefusal(e.originalError ?? e.cause, depth + 1);
}
