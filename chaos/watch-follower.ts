/**
 * Follows `GET /v1/watch` on one node for the whole run, across the node's restarts,
 * and records every connection exactly as the node sent it (history.ts WatchStream):
 * entries, `skipped` lines and the `cut` line, nothing filtered. OplogClient.watch
 * drops repeated seqs and throws on a jump, which is right for an application but
 * would hide from the checker the very anomalies it looks for; this reader hides
 * nothing. After a connection ends it resumes from the seq after the highest it was
 * given (never lower, never trusting the cut line's resumeFromSeq: the checker checks
 * that one).
 */
import type { LogEntry, WatchEvent, WatchStream } from './history.js';

export interface FollowerOptions {
  readonly node: string;
  readonly watcher: string;
  /** The node's base URL, or undefined while it is down (or paused). */
  readonly url: () => string | undefined;
  readonly fromSeq: bigint;
  /** A connection with no line (entries, heartbeats every 15 s) for this long is dropped. */
  readonly idleMs: number;
}

/** One line of the stream, parsed; undefined for a heartbeat. */
export function parseWatchLine(text: string): WatchEvent | undefined {
  const item = JSON.parse(text) as Record<string, Record<string, string> | string | number>;
  if ('heartbeat' in item) return undefined;
  if ('cut' in item) {
    const cut = item['cut'] as Record<string, string>;
    return { kind: 'cut', reason: cut['reason']!, resumeFromSeq: BigInt(cut['resumeFromSeq']!) };
  }
  if ('skipped' in item) {
    const skipped = item['skipped'] as Record<string, string>;
    return { kind: 'skipped', fromSeq: BigInt(skipped['fromSeq']!), toSeq: BigInt(skipped['toSeq']!) };
  }
  return { kind: 'entry', ...entryOf(item as Record<string, string>) };
}

function entryOf(item: Record<string, string>): LogEntry {
  const bytes = Buffer.from(item['value'] ?? '', 'base64');
  return {
    seq: BigInt(item['seq']!),
    epoch: BigInt(item['epoch']!),
    type: item['type']!,
    key: item['key']!,
    // A put's value is an op's value (UTF-8); a service entry's stays base64.
    value: item['type'] === 'put' ? bytes.toString('utf8') : (item['value'] ?? ''),
  };
}

/** Reads one connection's lines into `events` until it ends, `stop` aborts, or `until` says enough. */
export async function readWatch(
  url: string,
  fromSeq: bigint,
  events: WatchEvent[],
  { signal, idleMs, until }: { signal: AbortSignal; idleMs: number; until?: (event: WatchEvent) => boolean },
): Promise<void> {
  const connection = new AbortController();
  const abort = () => connection.abort();
  signal.addEventListener('abort', abort, { once: true });
  let idle = setTimeout(abort, idleMs);
  try {
    const response = await fetch(`${url}/v1/watch?fromSeq=${fromSeq}`, { signal: connection.signal });
    if (!response.ok || response.body === null) return;
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      clearTimeout(idle);
      idle = setTimeout(abort, idleMs);
      buffered += decoder.decode(chunk, { stream: true });
      let at: number;
      while ((at = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        if (line.length === 0) continue;
        const event = parseWatchLine(line);
        if (event === undefined) continue;
        events.push(event);
        if (until?.(event) === true) return;
      }
    }
  } catch {
    // The connection ended (node killed, paused past idleMs, aborted): the caller resumes.
  } finally {
    clearTimeout(idle);
    signal.removeEventListener('abort', abort);
    connection.abort();
  }
}

export class WatchFollower {
  readonly streams: WatchStream[] = [];
  private next: bigint;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: FollowerOptions) {
    this.next = options.fromSeq;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { node, watcher, idleMs } = this.options;
    while (!this.stopping.signal.aborted) {
      const url = this.options.url();
      if (url === undefined) {
        await sleep(200);
        continue;
      }
      const events: WatchEvent[] = [];
      const fromSeq = this.next;
      await readWatch(url, fromSeq, events, { signal: this.stopping.signal, idleMs });
      if (events.length > 0) this.streams.push({ node, watcher, fromSeq, events });
      for (const event of events) {
        const last = event.kind === 'entry' ? event.seq : event.kind === 'skipped' ? event.toSeq : 0n;
        if (last >= this.next) this.next = last + 1n;
      }
      await sleep(100);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
