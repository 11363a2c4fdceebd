/**
 * Reading a single-partition topic with kafkajs, whose consumers must join a group (it
 * has no manual assignment): each read gets a fresh, never-committing group and seeks
 * to its start offset. Messages flow into a bounded buffer; the consumer is paused when
 * the buffer is full and resumed as it drains. Read committed only.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';

export interface ReadOptions {
  readonly topic: string;
  readonly fromOffset: bigint;
  /** Stop before this offset; `undefined`: follow forever (until closed). */
  readonly endOffset: bigint | undefined;
  readonly bufferMessagesMax?: number;
}

export interface MessageStream extends AsyncIterable<KafkaMessage> {
  close(): Promise<void>;
  /** Time of the last successful fetch (ms, monotonic): liveness for subscriptions. */
  readonly lastFetchAtMs: number;
}

export function readTopic(kafka: Kafka, options: ReadOptions): MessageStream {
  const { topic, fromOffset, endOffset } = options;
  const bufferMax = options.bufferMessagesMax ?? 256;
  const buffer: KafkaMessage[] = [];
  let finished = endOffset !== undefined && fromOffset >= endOffset;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let paused = false;
  let consumer: Consumer | undefined;
  const state = { lastFetchAtMs: performance.now() };
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const finish = () => {
    finished = true;
    notify();
  };

  const started = finished
    ? Promise.resolve()
    : (async () => {
        consumer = kafka.consumer({
          groupId: `oplog-read-${randomUUID()}`,
          maxWaitTimeInMs: 100,
          allowAutoTopicCreation: false,
          readUncommitted: false,
          retry: { retries: 5 },
        });
        const c = consumer;
        c.on(c.events.FETCH, () => (state.lastFetchAtMs = performance.now()));
        c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
          if (endOffset !== undefined && BigInt(payload.lastOffset) >= endOffset - 1n) finish();
        });
        c.on(c.events.CRASH, ({ payload }) => {
          failure = payload.error;
          finish();
        });
        await c.connect();
        await c.subscribe({ topic, fromBeginning: true });
        await c.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              if (finished) return;
              if (BigInt(message.offset) < fromOffset) continue;
              if (endOffset !== undefined && BigInt(message.offset) >= endOffset) return finish();
              buffer.push(message);
              if (endOffset !== undefined && BigInt(message.offset) >= endOffset - 1n) finished = true;
            }
            if (buffer.length >= bufferMax && !paused) {
              paused = true;
              c.pause([{ topic }]);
            }
            notify();
          },
        });
        c.seek({ topic, partition: 0, offset: fromOffset.toString() });
      })().catch((error: unknown) => {
        // A consumer that crashed while starting (its group refused, say) makes the
        // seek after run() throw "Consumer group was not initialized": keep the crash's
        // own error, which says why.
        failure ??= error;
        finish();
      });

  async function* messages(): AsyncGenerator<KafkaMessage> {
    await started;
    for (;;) {
      const next = buffer.shift();
      if (next !== undefined) {
        if (paused && buffer.length < bufferMax / 2) {
          paused = false;
          consumer?.resume([{ topic }]);
        }
        yield next;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (finished) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }

  return {
    [Symbol.asyncIterator]: messages,
    get lastFetchAtMs() {
      return state.lastFetchAtMs;
    },
    close: async () => {
      finish();
      await started;
      await consumer?.disconnect().catch(() => undefined);
    },
  };
}
