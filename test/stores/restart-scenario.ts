/**
 * The server-restart scenario shared by the etcd and Kafka fault tests: a writer
 * appends `total` two-entry records, retrying the same bytes while the server is down;
 * `restart` kills it after `restartAt` records; a subscriber follows from seq 1. Then:
 * nothing acknowledged is lost, nothing is stored or delivered twice, the subscriber
 * saw every record in order and went blind, then visible again.
 */
import { expect } from 'vitest';
import type { BatchRecord } from '../../src/core/record-codec.js';
import { epoch, seq } from '../../src/core/types.js';
import type { LogStore } from '../../src/stores/log-store.js';
import { appendRetrying, collect } from '../contract/log-store.contract.js';
import { makeRecord } from '../helpers/entries.js';

export async function appendsAcrossRestart(options: {
  readonly writer: LogStore;
  readonly reader: LogStore;
  readonly total: number;
  readonly restartAt: number;
  /** Kills the server and arranges for it to come back (without waiting for it). */
  readonly restart: () => Promise<void>;
  readonly retryDelayMs: number;
}): Promise<void> {
  const { writer, reader, total } = options;
  await writer.fence(epoch(1n));
  const subscription = reader.subscribe(seq(1n));
  const seen: bigint[] = [];
  const visibility: string[] = [];
  const consuming = (async () => {
    for await (const event of subscription) {
      if (event.type === 'visibility') visibility.push(event.visibility);
      else {
        seen.push(event.record.firstSeq);
        if (event.record.lastSeq >= BigInt(total * 2)) break;
      }
    }
  })();
  const acked: BatchRecord[] = [];
  let retries = 0;
  for (let i = 0; i < total; i++) {
    const record = makeRecord(BigInt(i * 2 + 1), 2);
    if (i === options.restartAt) await options.restart();
    retries += await appendRetrying(writer, record, 1n, { delayMs: options.retryDelayMs });
    acked.push(record);
  }
  await consuming;
  subscription.close();
  expect(retries).toBeGreaterThan(0);
  const stored = await collect(reader.read(seq(1n)));
  const firstSeqs = stored.map((r) => r.firstSeq);
  expect(new Set(firstSeqs).size).toBe(firstSeqs.length);
  expect(firstSeqs).toEqual(acked.map((r) => r.firstSeq));
  expect(stored.map((r) => r.bodyChecksum)).toEqual(acked.map((r) => r.bodyChecksum));
  expect(seen).toEqual(acked.map((r) => r.firstSeq));
  expect(visibility[0]).toBe('visible');
  expect(visibility).toContain('blind');
  expect(visibility.at(-1)).toBe('visible');
}
