/**
 * The Kafka LogStore (DESIGN.md "Stores"): topic `<prefix>.<cluster>`, one partition,
 * one message per batch record, written by a transactional producer whose
 * `transactional.id` is stable per cluster, so a new writer's initTransactions fences
 * the old one inside Kafka. Our fencing epoch lives in `<topic>.epoch` (one message
 * per fence, written in the fencing producer's first transaction). Readers are read
 * committed.
 *
 * Seq → offset without scanning: every message's timestamp is its record's firstSeq,
 * so the broker's own time index answers "first offset at or after seq" (ListOffsets by
 * timestamp). This needs `retention.ms=-1` on the topic (we set it; retention is ours,
 * by truncateBefore) and a broker that accepts old timestamps (the default).
 *
 * Topics and offsets are in ./kafka-topics.ts, subscriptions in ./kafka-subscription.ts,
 * bounded reads in ./kafka-reader.ts, the queue that orders appends, fences and
 * truncation in ../append-queue.ts. What stays here (~530 lines, over 350 on purpose) is the one producer's
 * state — its epoch and the writer's head — which every write path reads and changes,
 * so it stays in one file.
 */
import { Kafka, logLevel, type Producer, type SASLOptions } from 'kafkajs';
import { validateClusterId } from '../../core/cluster-id.js';
import {
  ClosedError,
  FencedError,
  NotContiguousError,
  OplogError,
  StoreUnavailableError,
  TruncatedError,
} from '../../core/errors.js';
import { parseHeaderPrefix, type BatchRecord, type VerifiedRecord } from '../../core/record-codec.js';
import { epoch as toEpoch, seq as toSeq, type Epoch, type Head, type Seq } from '../../core/types.js';
import { AppendQueue, type QueuedAppend } from '../append-queue.js';
import { bufferView } from '../buffer-view.js';
import { checkFence, decideAppend, verifyForAppend } from '../contract-rules.js';
import type { LogStore, Subscription } from '../log-store.js';
import { readTopic } from './kafka-reader.js';
import { followTopic } from './kafka-subscription.js';
import { kafkaErrorType, kafkaFailure, KafkaTopics } from './kafka-topics.js';

/** Topic name prefix when KafkaStoreOptions.topicPrefix is left out. */
export const DEFAULT_TOPIC_PREFIX = 'oplog';

export interface KafkaStoreOptions {
  readonly brokers: string | readonly string[];
  readonly clusterId: string;
  /** TLS to the brokers: the CA (else the system's), and a client certificate and key. PEM bytes. */
  readonly tls?: { readonly ca?: Uint8Array; readonly cert?: Uint8Array; readonly key?: Uint8Array };
  /** SASL over the connection (with `tls`, SASL_SSL; without, SASL_PLAINTEXT). */
  readonly sasl?: {
    readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    readonly username: string;
    readonly password: string;
  };
  /** Topic name prefix; same rules as a cluster id. Default `oplog`. */
  readonly topicPrefix?: string;
  readonly replicationFactor?: number;
  readonly minInsyncReplicas?: number;
  /** A subscription that has not fetched for this long reports `blind`. Default 3,000 ms. */
  readonly blindAfterMs?: number;
  /**
   * Bounds of each subscription's queue of fetched records not yet taken by its
   * subscriber (default 64 records, 16 MiB): when full, the fetch loop waits, and the
   * reader behind it pauses its consumer. Always lets one record in.
   */
  readonly subscriptionBufferRecords?: number;
  readonly subscriptionBufferBytes?: number;
  /**
   * Create the topics when missing (default true: a standby may start before the
   * primary). Read-only tools pass false: a missing topic is then an InvalidInputError
   * naming it, and nothing is created.
   */
  readonly createTopics?: boolean;
  /**
   * After an append failed on the broker, how long a head that seems to leave a gap is
   * taken for a high watermark still catching up (retried) before the gap is believed:
   * NotContiguousError, which stops the writer. Default 15,000 ms.
   */
  readonly headLagRetryMs?: number;
}

/** KafkaStoreOptions.headLagRetryMs when left out: a restarted broker's watermark catches up in well under this. */
export const DEFAULT_HEAD_LAG_RETRY_MS = 15_000;

/** Kafka errors after which this producer can never write again: a newer one exists. */
const FENCING_ERRORS = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);

interface AppendItem {
  readonly record: BatchRecord;
  readonly epoch: Epoch;
}

/** Most records in one transaction. */
const GROUP_RECORDS_MAX = 32;

/**
 * Bytes of records per produce request: the request's record batch must stay under
 * the broker's message.max.bytes (default 1 MiB), so a record (≤ 900 KiB) always fits
 * alone and smaller ones share a request.
 */
const PRODUCE_BYTES_MAX = 900 * 1024;

function produceChunks<T extends { readonly bytes: Uint8Array }>(messages: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let bytes = 0;
  for (const message of messages) {
    const last = chunks.at(-1);
    if (last !== undefined && bytes + message.bytes.length <= PRODUCE_BYTES_MAX) {
      last.push(message);
      bytes += message.bytes.length;
    } else {
      chunks.push([message]);
      bytes = message.bytes.length;
    }
  }
  return chunks;
}

interface WriterHead {
  readonly lastSeq: bigint;
  readonly epoch: bigint;
  /** Offset of the last record's message; reads wait until it is committed-visible. */
  readonly offset: bigint;
}

export class KafkaLogStore implements LogStore {
  readonly kind = 'kafka';
  readonly topic: string;
  private readonly epochTopic: string;
  private readonly kafka: Kafka;
  private readonly topics: KafkaTopics;
  private producer: Producer | undefined;
  /** The fencing epoch our producer was initialised under. */
  private producerEpoch: bigint | undefined;
  /** Known only while this instance is the writer; undefined means "look it up". */
  private writerHead: WriterHead | undefined;
  private closed = false;
  private readonly subscriptions = new Set<Subscription>();

  constructor(private readonly options: KafkaStoreOptions) {
    const cluster = validateClusterId(options.clusterId);
    const prefix = validateClusterId(options.topicPrefix ?? DEFAULT_TOPIC_PREFIX);
    this.topic = `${prefix}.${cluster}`;
    this.epochTopic = `${this.topic}.epoch`;
    this.kafka = new Kafka({
      clientId: `oplog-${cluster}`,
      brokers: typeof options.brokers === 'string' ? [options.brokers] : [...options.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
      ...(options.tls === undefined
        ? {}
        : {
            ssl: {
              ...(options.tls.ca === undefined ? {} : { ca: [Buffer.from(options.tls.ca)] }),
              ...(options.tls.cert === undefined ? {} : { cert: Buffer.from(options.tls.cert) }),
              ...(options.tls.key === undefined ? {} : { key: Buffer.from(options.tls.key) }),
            },
          }),
      ...(options.sasl === undefined ? {} : { sasl: saslOptions(options.sasl) }),
    });
    this.topics = new KafkaTopics(this.kafka, this.topic, this.epochTopic, options, () => this.closed);
  }

  /**
   * Appends, fences and truncation run one at a time in call order: nothing called
   * after a fence is written before it. Appends queued meanwhile go into one
   * transaction (see appendGroup), up to GROUP_RECORDS_MAX; a failed one fails its
   * group only. Every job finds the store open or fails with ClosedError.
   */
  private readonly queue = new AppendQueue<AppendItem>({
    cut: (run) => Math.min(run.length, GROUP_RECORDS_MAX),
    write: async (group) => {
      this.checkOpen();
      await this.appendGroup(group);
    },
    onWriteFailure: 'group',
    // One turn of the event loop before a group is cut: appends issued by the callers
    // of the previous group's acks still join it.
    beforeCut: () => new Promise((resolve) => setImmediate(resolve)),
  });

  append(record: BatchRecord, epoch: Epoch): Promise<void> {
    return this.queue.append({ record, epoch });
  }

  fence(epoch: Epoch): Promise<void> {
    return this.queue.barrier(async () => {
      this.checkOpen();
      await this.fenceNow(epoch);
    });
  }

  truncateBefore(seq: Seq): Promise<void> {
    return this.queue.barrier(async () => {
      this.checkOpen();
      await this.truncateNow(seq);
    });
  }

  async currentEpoch(): Promise<Epoch> {
    this.checkOpen();
    await this.topics.ensure();
    const last = await this.topics.lastMessage(this.epochTopic);
    return toEpoch(last === undefined ? 0n : BigInt(last.value.toString()));
  }

  async head(): Promise<Head> {
    this.checkOpen();
    const head = this.writerHead ?? (await this.scanHead());
    return { lastSeq: toSeq(head.lastSeq), epoch: toEpoch(head.epoch) };
  }

  read(fromSeq: Seq, limitRecords = Infinity): AsyncIterable<VerifiedRecord> {
    return translatedReads(this.readUpTo(fromSeq, limitRecords, {}), fromSeq);
  }

  /** read(), reporting in `end.offset` the committed end offset it read up to. */
  private async *readUpTo(
    fromSeq: Seq,
    limitRecords: number,
    end: { offset?: bigint },
  ): AsyncGenerator<VerifiedRecord> {
    this.checkOpen();
    await this.topics.ensure();
    const { low, high } = await this.committedEnd();
    end.offset = high;
    if (high <= low) return;
    let back = 4n;
    for (;;) {
      const found = await this.topics.offsetAtOrAfter(fromSeq, high);
      const start = found - back > low ? found - back : low;
      const stream = readTopic(this.kafka, { topic: this.topic, fromOffset: start, endOffset: high });
      let delivered = 0;
      let first = true;
      let retryFurtherBack = false;
      try {
        for await (const message of stream) {
          if (endsBefore(message.value, fromSeq)) continue;
          const record = this.topics.verifyMessage(message.value, message.offset);
          if (first && record.firstSeq > fromSeq) {
            if (start > low) {
              retryFurtherBack = true;
              break;
            }
            throw new TruncatedError(fromSeq, record.firstSeq);
          }
          first = false;
          yield record;
          if (++delivered >= limitRecords) return;
        }
      } finally {
        await stream.close();
      }
      if (!retryFurtherBack) return;
      back *= 16n;
    }
  }

  subscribe(fromSeq: Seq): Subscription {
    this.checkOpen();
    const subscription = followTopic(
      {
        kafka: this.kafka,
        topics: this.topics,
        readUpTo: (from, limit, end) => this.readUpTo(from, limit, end),
        isClosed: () => this.closed,
      },
      fromSeq,
      {
        blindAfterMs: this.options.blindAfterMs,
        bufferRecords: this.options.subscriptionBufferRecords,
        bufferBytes: this.options.subscriptionBufferBytes,
      },
      (closed) => this.subscriptions.delete(closed),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.subscriptions]) s.close();
    // Jobs already queued settle (with ClosedError, as they meet the closed store).
    await this.queue.close(() => new ClosedError('kafka store'));
    await this.producer?.disconnect().catch(() => undefined);
    await this.topics.disconnect();
  }

  // ---- writing ---------------------------------------------------------------------

  private async fenceNow(epoch: Epoch): Promise<void> {
    await this.topics.ensure();
    // Check first: a fence that is going to be refused must not fence the real writer.
    checkFence(epoch, await this.currentEpoch());
    await this.dropProducer();
    const producer = await this.newProducer();
    try {
      const txn = await producer.transaction();
      try {
        await txn.send({ topic: this.epochTopic, acks: -1, messages: [{ value: String(epoch) }] });
        await txn.commit();
      } catch (error) {
        await txn.abort().catch(() => undefined);
        throw error;
      }
    } catch (cause) {
      await producer.disconnect().catch(() => undefined);
      throw this.translate(cause, 'kafka fence', epoch);
    }
    this.producer = producer;
    this.producerEpoch = epoch;
    this.writerHead = await this.scanHead();
  }

  /**
   * Decides every append of a group against the head (idempotent retry, conflict,
   * fence, gap), then writes the accepted ones in one transaction: one message (and one
   * produce request, so each stays under the broker's message size limit) per record,
   * one AddPartitions and one commit for all.
   */
  private async appendGroup(group: readonly QueuedAppend<AppendItem>[]): Promise<void> {
    await this.topics.ensure();
    const head = this.writerHead ?? (await this.scanHead());
    const fenceEpoch = this.producerEpoch ?? (await this.currentEpoch());
    let lastSeq = head.lastSeq;
    const accepted: { job: QueuedAppend<AppendItem>; firstSeq: bigint; lastSeq: bigint; epoch: bigint }[] =
      [];
    const duplicates: QueuedAppend<AppendItem>[] = [];
    for (const job of group) {
      try {
        const verified = verifyForAppend(job.item.record, job.item.epoch);
        const decision = await decideAppend(verified, job.item.epoch, {
          epoch: toEpoch(fenceEpoch),
          lastSeq,
          recordAt: async (seq) => {
            const pending = accepted.find((a) => a.firstSeq <= seq && seq <= a.lastSeq);
            if (pending !== undefined) return pending.job.item.record;
            for await (const stored of this.read(toSeq(seq), 1)) return stored;
            return undefined;
          },
        });
        if (decision === 'duplicate') duplicates.push(job);
        else {
          accepted.push({
            job,
            firstSeq: verified.firstSeq,
            lastSeq: verified.lastSeq,
            epoch: verified.epoch,
          });
          lastSeq = verified.lastSeq;
        }
      } catch (error) {
        job.reject(this.maybeLaggingHead(error));
      }
    }
    if (accepted.length > 0) {
      try {
        await this.writeTransaction(
          accepted.map((a) => ({ bytes: a.job.item.record.bytes, firstSeq: a.firstSeq })),
          fenceEpoch,
        );
      } catch (error) {
        for (const job of [...accepted.map((a) => a.job), ...duplicates]) job.reject(error);
        return;
      }
      const last = accepted.at(-1)!;
      this.writerHead = { lastSeq: last.lastSeq, epoch: last.epoch, offset: this.lastWrittenOffset };
      this.headMayLag = false;
      this.gapSeenAtMs = undefined;
    }
    for (const a of accepted) a.job.resolve();
    for (const job of duplicates) job.resolve();
  }

  private lastWrittenOffset = -1n;

  /**
   * Set when an append failed on the broker (it may have restarted): until the next
   * transaction commits, a re-scanned head can lag what was committed — after a kill -9
   * a broker's high watermark restarts from its last checkpoint — so a record that seems
   * to leave a gap is retried (StoreUnavailableError, head scanned again) rather than
   * refused. Nothing is written on that path either way.
   *
   * Only for `headLagRetryMs` from the first such gap, though: a broker that cut its log
   * while recovering (a segment failing its CRC after an unclean restart is truncated
   * there, with one replica losing what it had acknowledged) never catches up, and
   * retrying forever would leave the writer running but acknowledging nothing, with no
   * other node allowed to take over. Past the window the gap is NotContiguousError: the
   * writer stops, and the next promotion's reconciliation refills this store from the
   * others.
   */
  private headMayLag = false;
  /** When the first gap after a broker failure was seen (performance.now()). */
  private gapSeenAtMs: number | undefined;

  private maybeLaggingHead(error: unknown): unknown {
    if (!(error instanceof NotContiguousError) || !this.headMayLag || error.firstSeq < error.expectedSeq)
      return error;
    const nowMs = performance.now();
    this.gapSeenAtMs ??= nowMs;
    if (nowMs - this.gapSeenAtMs > (this.options.headLagRetryMs ?? DEFAULT_HEAD_LAG_RETRY_MS)) return error;
    this.writerHead = undefined;
    return new StoreUnavailableError(
      'kafka append',
      { cluster: this.options.clusterId, reason: 'head behind after a broker failure' },
      { cause: error },
    );
  }

  private async writeTransaction(
    messages: readonly { bytes: Uint8Array; firstSeq: bigint }[],
    epoch: bigint,
  ): Promise<void> {
    if (this.producer === undefined) {
      // A new handle on the current epoch (a restart): initialising our producer fences
      // any older producer of this cluster inside Kafka.
      this.producer = await this.newProducer().catch((cause: unknown) => {
        throw this.translate(cause, 'kafka append', epoch);
      });
      this.producerEpoch = epoch;
    }
    const producer = this.producer;
    /** EndTxn was sent: from here a fence may still have let the commit complete. */
    let committing = false;
    try {
      const txn = await producer.transaction();
      try {
        for (const chunk of produceChunks(messages)) {
          const [result] = await txn.send({
            topic: this.topic,
            acks: -1,
            messages: chunk.map((m) => ({ value: bufferView(m.bytes), timestamp: String(m.firstSeq) })),
          });
          this.lastWrittenOffset = BigInt(result?.baseOffset ?? '-1') + BigInt(chunk.length - 1);
        }
        committing = true;
        await txn.commit();
      } catch (error) {
        await txn.abort().catch(() => undefined);
        throw error;
      }
    } catch (cause) {
      // The outcome may be unknown and the producer may hold a half-done transaction:
      // rebuild it (initTransactions aborts what was open) and look the head up again.
      const error = this.translate(cause, 'kafka append', epoch, committing);
      await this.dropProducer();
      this.headMayLag = true;
      this.gapSeenAtMs = undefined;
      throw error;
    }
  }

  private async truncateNow(seq: Seq): Promise<void> {
    await this.topics.ensure();
    const head = await this.head();
    const limit = seq > head.lastSeq ? head.lastSeq : seq;
    if (limit < 1n) return;
    const { low, high } = await this.committedEnd();
    const found = await this.topics.offsetAtOrAfter(limit, high);
    // Keep the record covering `limit`: start from a little before and find it.
    const start = found - 4n > low ? found - 4n : low;
    const keepOffset = await this.topics.call('kafka truncate', async () => {
      const stream = readTopic(this.kafka, { topic: this.topic, fromOffset: start, endOffset: high });
      try {
        for await (const message of stream) {
          const record = this.topics.verifyMessage(message.value, message.offset);
          if (record.lastSeq >= limit) return BigInt(message.offset);
        }
        return undefined;
      } finally {
        await stream.close();
      }
    });
    if (keepOffset === undefined || keepOffset <= low) return;
    await this.topics.call('kafka truncate', () =>
      this.topics.adminClient().then((admin) =>
        admin.deleteTopicRecords({
          topic: this.topic,
          partitions: [{ partition: 0, offset: keepOffset.toString() }],
        }),
      ),
    );
  }

  private async newProducer(): Promise<Producer> {
    const producer = this.kafka.producer({
      transactionalId: this.topic,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 30_000,
      allowAutoTopicCreation: false,
      // A transaction right after a commit meets CONCURRENT_TRANSACTIONS until the
      // broker has written the previous commit markers (a few ms); kafkajs's default
      // first backoff of 300 ms made every append take ~100 ms (bench/RESULTS.md).
      retry: { retries: 30, initialRetryTime: 2, maxRetryTime: 500, factor: 0.2, multiplier: 1.5 },
    });
    await producer.connect();
    return producer;
  }

  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.producerEpoch = undefined;
    this.writerHead = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  /**
   * Fencing errors stop this writer (FencedError), and so does the broker refusing our
   * user (StoreAuthError). Anything else, an out-of-order sequence included, is
   * unavailability: the caller drops the producer, so the next append builds a new one
   * and re-checks the head, and the writer retries the same bytes.
   */
  private translate(cause: unknown, operation: string, epoch: bigint, committing = false): OplogError {
    if (cause instanceof OplogError) return cause;
    const type = kafkaErrorType(cause);
    if (type !== undefined && FENCING_ERRORS.has(type))
      return new FencedError(epoch, undefined, { cause, mayHaveLanded: committing });
    return kafkaFailure(cause, operation, { cluster: this.options.clusterId, topic: this.topic });
  }

  // ---- reading helpers ---------------------------------------------------------------

  private async scanHead(): Promise<WriterHead> {
    await this.topics.ensure();
    const last = await this.topics.lastMessage(this.topic);
    if (last === undefined) return { lastSeq: 0n, epoch: 0n, offset: -1n };
    const record = this.topics.verifyMessage(last.value, last.offset);
    return { lastSeq: record.lastSeq, epoch: record.epoch, offset: BigInt(last.offset) };
  }

  /** Committed end of the log topic; waits briefly for our own last commit to show. */
  private async committedEnd(): Promise<{ low: bigint; high: bigint }> {
    const mine = this.writerHead?.offset ?? -1n;
    for (let attempt = 0; ; attempt++) {
      const offsets = await this.topics.endOffsets(this.topic);
      if (offsets.high > mine || attempt >= 100) return offsets;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('kafka store');
  }
}

/**
 * Whether a message holds a record wholly before `fromSeq`, by its header alone (the
 * header has its own checksum): a read skips those unverified, so a record damaged in
 * its body does not fail every later read. A read starts some way before `fromSeq`
 * (the seq → offset lookup by timestamp lands early), and without this one flipped
 * byte in an old record made every read and subscription past it fail, for ever. A
 * record whose header is damaged cannot be placed, and is verified (and refused).
 */
function endsBefore(value: Buffer | null, fromSeq: Seq): boolean {
  if (value === null) return false;
  try {
    return parseHeaderPrefix(new Uint8Array(value.buffer, value.byteOffset, value.length)).lastSeq < fromSeq;
  } catch {
    return false;
  }
}

/**
 * A read's failures as the contract's errors: kafkajs throws its own (a consumer group
 * not initialized while the broker restarts, a lost connection), which a caller must
 * see as StoreUnavailableError — retryable — not as an unknown exception that stops it;
 * the broker refusing our user is StoreAuthError.
 */
async function* translatedReads(
  source: AsyncGenerator<VerifiedRecord>,
  fromSeq: Seq,
): AsyncGenerator<VerifiedRecord> {
  try {
    yield* source;
  } catch (error) {
    if (error instanceof OplogError) throw error;
    throw kafkaFailure(error, 'kafka read', { fromSeq: String(fromSeq) });
  }
}

function saslOptions(sasl: NonNullable<KafkaStoreOptions['sasl']>): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}
