/**
 * One `GET /v1/watch?fromSeq=N` stream: NDJSON, one applied entry per line, in seq
 * order from N, then live. Entries older than the feed's ring are read from the log
 * (`backfill`), newer ones come from the ring and then from the feed as they are
 * applied. The stream never skips a seq: whatever would make it (a consumer too slow
 * for its bounded buffer, a snapshot install, a log truncated below N, shutdown) ends
 * it with a last line `{"cut": {"reason", "resumeFromSeq"}}` naming the seq to resume
 * from. A heartbeat line `{"heartbeat": {"appliedSeq"}}` goes out while idle, so a
 * consumer can tell a quiet log from a dead connection. A range the node skipped (its
 * skip policy gave up on a gap; recorded and counted in its status) is a line
 * `{"skipped": {"fromSeq", "toSeq"}}`, never a silent jump.
 */
import type { ServerResponse } from 'node:http';
import type { Entry } from '../core/types.js';
import type { AppliedFeed } from './applied-feed.js';

export type CutReason =
  'slow_consumer' | 'snapshot_installed' | 'truncated' | 'shutting_down' | 'backfill_failed';

export interface WatchOptions {
  readonly fromSeq: bigint;
  /** Entries, and their value bytes, held unsent (socket backed up) before the consumer is cut. */
  readonly bufferEntriesMax: number;
  readonly bufferBytesMax: number;
  readonly heartbeatMs: number;
  /** Applied entries from `fromSeq` up to `toSeq` from the log, for seqs the ring no longer holds. */
  readonly backfill: (fromSeq: bigint, toSeq: bigint) => AsyncIterable<Entry>;
  /** Called once the stream ended, with its reason (undefined: the client went away). */
  readonly onEnd?: (reason: CutReason | undefined, resumeFromSeq: bigint) => void;
}

export function entryLine(entry: Entry): string {
  return `${JSON.stringify({
    seq: entry.seq.toString(),
    epoch: entry.epoch.toString(),
    ts: entry.ts,
    type: entry.type,
    key: entry.key,
    value: Buffer.from(entry.value.buffer, entry.value.byteOffset, entry.value.length).toString('base64'),
  })}\n`;
}

/** Serves one watch on `res` until it is cut or the client leaves; returns its cut function. */
export function serveWatch(
  feed: AppliedFeed,
  res: ServerResponse,
  options: WatchOptions,
): (reason: CutReason) => void {
  let nextSeq = options.fromSeq;
  let ended = false;
  /** Live entries not yet written (while backfilling, or while the socket is backed up). */
  const queued: Entry[] = [];
  let queuedBytes = 0;
  let writing = false;
  let backfilling = true;

  const end = (reason: CutReason | undefined) => {
    if (ended) return;
    ended = true;
    unlisten();
    clearInterval(heartbeat);
    if (reason !== undefined && !res.destroyed) {
      res.end(`${JSON.stringify({ cut: { reason, resumeFromSeq: nextSeq.toString() } })}\n`);
    }
    options.onEnd?.(reason, nextSeq);
  };

  const unlisten = feed.listen({
    entry: (entry) => {
      if (ended) return;
      queued.push(entry);
      queuedBytes += entry.value.length;
      if (queued.length > options.bufferEntriesMax || queuedBytes > options.bufferBytesMax)
        end('slow_consumer');
      else void pump();
    },
    restored: () => end('snapshot_installed'),
  });
  res.on('close', () => end(undefined));

  const heartbeat = setInterval(() => {
    if (!writing && queued.length === 0 && !backfilling)
      res.write(`${JSON.stringify({ heartbeat: { appliedSeq: feed.lastSeq.toString() } })}\n`);
  }, options.heartbeatMs);
  heartbeat.unref();

  /** Writes one entry if it is the next seq (older ones are dropped: already sent). */
  const send = async (entry: Entry): Promise<void> => {
    if (entry.seq < nextSeq) return;
    if (entry.seq > nextSeq)
      res.write(
        `${JSON.stringify({ skipped: { fromSeq: nextSeq.toString(), toSeq: (entry.seq - 1n).toString() } })}\n`,
      );
    nextSeq = entry.seq + 1n;
    if (!res.write(entryLine(entry))) await drained(res);
  };

  const pump = async (): Promise<void> => {
    if (writing || backfilling || ended) return;
    writing = true;
    try {
      while (queued.length > 0 && !ended) {
        const entry = queued.shift()!;
        queuedBytes -= entry.value.length;
        await send(entry);
      }
    } catch {
      end('slow_consumer');
    } finally {
      writing = false;
    }
  };

  void (async () => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    try {
      // Seqs the ring no longer holds come from the log, up to the ring's first.
      const ringFirst = feed.firstRingSeq;
      if (nextSeq < ringFirst) {
        for await (const entry of options.backfill(nextSeq, ringFirst - 1n)) {
          if (ended) return;
          await send(entry);
        }
      }
      if (nextSeq < feed.firstRingSeq) {
        end('backfill_failed'); // the ring moved past what the log gave: start again
        return;
      }
      for (const entry of feed.since(nextSeq)) {
        if (ended) return;
        await send(entry);
      }
    } catch (error) {
      end((error as { code?: string }).code === 'OPLOG_TRUNCATED' ? 'truncated' : 'backfill_failed');
      return;
    }
    backfilling = false;
    void pump();
  })();

  return end;
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
