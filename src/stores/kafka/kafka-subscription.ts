/**
 * A Kafka store's subscription: catch up with a bounded read from the next seq, then
 * follow the topic from exactly where that read ended, so nothing falls between the two;
 * a record that does not start at the next seq sends it back to a read from there. A
 * fetch loop that has not fetched for `blindAfterMs` reports `blind` — except while it
 * is held back by a slow subscriber: fetched records wait in a bounded queue
 * (./event-queue.ts), and when it is full the loop waits and the reader behind it
 * pauses its consumer. Failures back off and retry forever; a non-retryable one (a
 * damaged message, the broker refusing our user) ends the subscription with that error.
 */
import type { Kafka } from 'kafkajs';
import { OplogError } from '../../core/errors.js';
import type { VerifiedRecord } from '../../core/record-codec.js';
import { seq as toSeq, type Seq } from '../../core/types.js';
import { EventQueue } from '../event-queue.js';
import type { Subscription, SubscriptionEvent } from '../log-store.js';
import { abortableSleep } from '../tail-subscription.js';
import { readTopic } from './kafka-reader.js';
import { kafkaAuthRefusal, kafkaFailure, type KafkaTopics } from './kafka-topics.js';

/** What a subscription reads through: the store's client, topics and bounded reads. */
export interface FollowSource {
  readonly kafka: Kafka;
  readonly topics: KafkaTopics;
  /** Records from `fromSeq` to the committed end; sets `end.offset` to that end. */
  readUpTo(fromSeq: Seq, limitRecords: number, end: { offset?: bigint }): AsyncIterable<VerifiedRecord>;
  isClosed(): boolean;
}

export interface FollowOptions {
  /** Default 3,000 ms. */
  readonly blindAfterMs?: number | undefined;
  /** Bounds of the queue of fetched records (default 64 records, 16 MiB). */
  readonly bufferRecords?: number | undefined;
  readonly bufferBytes?: number | undefined;
}

export function followTopic(
  source: FollowSource,
  fromSeq: Seq,
  options: FollowOptions,
  onClose: (subscription: Subscription) => void,
): Subscription {
  const events = new EventQueue<SubscriptionEvent>(
    {
      itemsMax: options.bufferRecords ?? 64,
      bytesMax: options.bufferBytes ?? 16 * 1024 * 1024,
    },
    (event) => (event.type === 'record' ? event.record.bytes.length : 0),
  );
  const abort = new AbortController();
  const blindAfterMs = options.blindAfterMs ?? 3_000;
  const run = async () => {
    let nextSeq: bigint = fromSeq;
    let visibility: 'visible' | 'blind' | undefined;
    /** Last time the subscriber took a record: a full queue waits on it, not on Kafka. */
    let deliveredAtMs = performance.now();
    const deliver = async (record: VerifiedRecord) => {
      await events.put({ type: 'record', record });
      deliveredAtMs = performance.now();
    };
    const see = (v: 'visible' | 'blind', cause?: unknown) => {
      if (visibility === v) return;
      visibility = v;
      events.pushControl(
        cause === undefined
          ? { type: 'visibility', visibility: v }
          : { type: 'visibility', visibility: v, cause },
      );
    };
    for (let failures = 0; !abort.signal.aborted;) {
      try {
        // Catch up with a bounded read (it resumes exactly at nextSeq), then follow
        // from exactly where that read ended, so nothing falls between the two.
        const end: { offset?: bigint } = {};
        for await (const record of source.readUpTo(toSeq(nextSeq), Infinity, end)) {
          if (abort.signal.aborted) return;
          see('visible');
          if (record.lastSeq < nextSeq) continue;
          nextSeq = record.lastSeq + 1n;
          await deliver(record);
        }
        // Closed during the catch-up read: following now would start a consumer that
        // nothing stops (the abort listener below never fires for a past abort).
        if (abort.signal.aborted || source.isClosed()) return;
        see('visible');
        const stream = readTopic(source.kafka, {
          topic: source.topics.topic,
          fromOffset: end.offset ?? 0n,
          endOffset: undefined,
        });
        const liveness = setInterval(
          () => {
            // While the subscriber is behind, the fetch loop is held back on purpose.
            const progressAtMs = Math.max(stream.lastFetchAtMs, deliveredAtMs);
            if (!events.full && performance.now() - progressAtMs > blindAfterMs) see('blind');
          },
          Math.max(100, blindAfterMs / 4),
        );
        const stop = () => void stream.close();
        abort.signal.addEventListener('abort', stop, { once: true });
        try {
          for await (const message of stream) {
            see('visible');
            const record = source.topics.verifyMessage(message.value, message.offset);
            if (record.lastSeq < nextSeq) continue;
            if (record.firstSeq > nextSeq) break; // something between: re-read from nextSeq
            nextSeq = record.lastSeq + 1n;
            await deliver(record);
            failures = 0;
          }
        } finally {
          clearInterval(liveness);
          abort.signal.removeEventListener('abort', stop);
          await stream.close();
        }
      } catch (cause) {
        if (abort.signal.aborted || source.isClosed()) return;
        if (cause instanceof OplogError && !cause.retryable) return events.fail(cause);
        if (kafkaAuthRefusal(cause) !== undefined)
          return events.fail(kafkaFailure(cause, 'kafka subscription', { topic: source.topics.topic }));
        see('blind', cause);
        await abortableSleep(Math.min(2_000, 100 * 2 ** Math.min(failures++, 5)), abort.signal);
      }
    }
  };
  void run().finally(() => events.end());
  const subscription: Subscription = {
    close: () => {
      abort.abort();
      events.end();
      onClose(subscription);
    },
    [Symbol.asyncIterator]: () => events.iterator(),
  };
  return subscription;
}
