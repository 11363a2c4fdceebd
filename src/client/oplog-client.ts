/**
 * A typed client of `oplog serve`'s HTTP API (DESIGN.md "Interfaces"), for
 * applications, the tests, the fault suite and the benchmarks. Just over 350 lines on
 * purpose: one class and the error types its callers match on.
 *
 * Retries never turn an unknown outcome into a duplicate: an append is retried only
 * when it provably wrote nothing — the connection was refused before the request went
 * out, or the node answered with a refusal that says so (`409 OPLOG_NOT_PRIMARY`, a
 * `503` with `outcome: "failed"`). A timeout, a connection lost mid-request, or a
 * `503` with `outcome: "unknown"` rejects with {@link AppendOutcomeUnknownError},
 * carrying the seqs the node gave when it said them; the caller decides (read the log
 * at those seqs to learn which).
 */
import type { Op } from '../core/types.js';

export interface OplogClientOptions {
  /** Base URLs (`http://h:p`); appends go to whichever answers as primary, reads to the first. */
  readonly urls: readonly string[];
  /** Bearer token for the mutating endpoints and snapshots. */
  readonly token?: string;
  /** Per request. Default 10,000 ms. */
  readonly timeoutMs?: number;
  /** Attempts over all URLs for a request that provably wrote nothing. Default 3. */
  readonly attempts?: number;
  /** Wait between attempts (doubling). Default 100 ms. */
  readonly retryDelayMs?: number;
}

/** A refusal from the node: its HTTP status and the JSON body `{code, message, field}`. */
export class OplogHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Readonly<Record<string, unknown>>,
  ) {
    super(`${status} ${code}: ${message}`);
  }
  get field(): string | undefined {
    return typeof this.body['field'] === 'string' ? this.body['field'] : undefined;
  }
}

/** The append may or may not be in the log: never retried by the client. */
export class AppendOutcomeUnknownError extends Error {
  constructor(
    message: string,
    /** Seqs the node gave the entries, when it answered; empty when it never did. */
    readonly seqs: readonly bigint[],
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** The stream jumped past a seq with no recorded skip: a broken promise of the server, never hidden. */
export class WatchGapError extends Error {
  constructor(
    readonly expectedSeq: bigint,
    readonly gotSeq: bigint,
  ) {
    super(`watch skipped from seq ${expectedSeq} to ${gotSeq}`);
  }
}

export interface AppendResult {
  readonly seqs: bigint[];
  readonly epoch: bigint;
}

export interface ReadResult {
  readonly value: Uint8Array;
  /** The applied seq the read saw (≥ minSeq). */
  readonly appliedSeq: bigint;
}

export interface WatchedEntry {
  readonly seq: bigint;
  readonly epoch: bigint;
  readonly ts: number;
  readonly type: string;
  readonly key: string;
  readonly value: Uint8Array;
}

export interface WatchOptions {
  readonly signal?: AbortSignal;
  /** Told when the node cut the stream (the client resumes from resumeFromSeq by itself). */
  readonly onCut?: (reason: string, resumeFromSeq: bigint) => void;
  /** Told of a range the node skipped (recorded in its status); the stream goes on past it. */
  readonly onSkipped?: (fromSeq: bigint, toSeq: bigint) => void;
  /** Most reconnects in a row without an entry before the iterator throws. Default 10. */
  readonly reconnectsMax?: number;
  /**
   * A connection that brings no line (entries or heartbeats, sent every 15 s) for this
   * long is dropped and resumed. Default 45,000 ms.
   */
  readonly idleTimeoutMs?: number;
}

export class OplogClient {
  private readonly urls: readonly string[];
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  /** Index in `urls` of the node that last answered an append as primary. */
  private primary = 0;

  constructor(private readonly options: OplogClientOptions) {
    if (options.urls.length === 0) throw new TypeError('OplogClient needs at least one URL');
    this.urls = options.urls.map((u) => u.replace(/\/+$/, ''));
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.attempts = options.attempts ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 100;
  }

  /** Appends one entry or many; resolves once durable on every store, with their seqs. */
  async append(entries: Op | readonly Op[]): Promise<AppendResult> {
    const list = Array.isArray(entries) ? (entries as readonly Op[]) : [entries as Op];
    const body = JSON.stringify({
      entries: list.map((op) => ({
        type: op.type,
        key: op.key,
        ...(op.type === 'delete' && op.value.length === 0 ? {} : { value: base64(op.value) }),
      })),
    });
    let delayMs = this.retryDelayMs;
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attempts * this.urls.length; attempt++) {
      const index = (this.primary + attempt) % this.urls.length;
      let response: Response;
      try {
        response = await this.fetch(index, '/v1/append', { method: 'POST', body, auth: true });
      } catch (error) {
        if (!refusedBeforeSending(error))
          throw new AppendOutcomeUnknownError(`append to ${this.urls[index]}: ${describe(error)}`, [], error);
        lastError = error;
        await sleep(delayMs);
        delayMs *= 2;
        continue;
      }
      let answer: Record<string, unknown>;
      try {
        answer = (await response.json()) as Record<string, unknown>;
      } catch (error) {
        // The node answered but the answer was lost: the append may well be durable.
        throw new AppendOutcomeUnknownError(`append to ${this.urls[index]}: unreadable answer`, [], error);
      }
      if (response.ok) {
        const seqs = answer['seqs'];
        if (!Array.isArray(seqs) || typeof answer['epoch'] !== 'string')
          throw new AppendOutcomeUnknownError(`append to ${this.urls[index]}: malformed answer`, []);
        this.primary = index;
        return { seqs: seqs.map((s) => BigInt(s as string)), epoch: BigInt(answer['epoch']) };
      }
      const error = httpError(response.status, answer);
      // A 5xx that does not say "failed" (ours, or a proxy's 502/504 after forwarding) may have written.
      const unknown =
        answer['outcome'] === 'unknown' ||
        answer['outcome'] === 'partial' ||
        (response.status >= 500 && answer['outcome'] !== 'failed');
      if (unknown)
        throw new AppendOutcomeUnknownError(
          error.message,
          ((answer['seqs'] as string[] | undefined) ?? []).map((s) => BigInt(s)),
          error,
        );
      const safeToRetry =
        error.code === 'OPLOG_NOT_PRIMARY' || (response.status === 503 && answer['outcome'] === 'failed');
      if (!safeToRetry) throw error;
      lastError = error;
      if (
        error.code !== 'OPLOG_NOT_PRIMARY' ||
        index === (this.primary + this.urls.length - 1) % this.urls.length
      ) {
        await sleep(delayMs);
        delayMs *= 2;
      }
    }
    throw lastError;
  }

  /**
   * Reads `key` on the first URL once it has applied `minSeq` (waiting up to `waitMs`,
   * bounded by the node): undefined when the key does not exist.
   */
  async get(
    key: string,
    { minSeq = 0n, waitMs }: { minSeq?: bigint; waitMs?: number } = {},
  ): Promise<ReadResult | undefined> {
    const query = new URLSearchParams({
      minSeq: minSeq.toString(),
      ...(waitMs === undefined ? {} : { waitMs: String(waitMs) }),
    });
    const response = await this.fetch(0, `/v1/kv/${encodeURIComponent(key)}?${query}`, {});
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    const appliedSeq = BigInt(response.headers.get('oplog-applied-seq') ?? '0');
    if (response.status === 404 && answer['code'] === 'OPLOG_NO_SUCH_KEY') return undefined;
    if (!response.ok) throw httpError(response.status, answer);
    return { value: Buffer.from(answer['value'] as string, 'base64'), appliedSeq };
  }

  async status(url = 0): Promise<Record<string, unknown>> {
    const response = await this.fetch(url, '/v1/status', {});
    const answer = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw httpError(response.status, answer);
    return answer;
  }

  async promote({ force = false, url = 0 }: { force?: boolean; url?: number } = {}): Promise<bigint> {
    const response = await this.fetch(url, '/v1/promote', {
      method: 'POST',
      body: JSON.stringify({ force }),
      auth: true,
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw httpError(response.status, answer);
    return BigInt(answer['epoch'] as string);
  }

  /**
   * The applied entries of the first URL from `fromSeq`, live, as an async iterator. A
   * stream the node cut, or a connection lost, is resumed from the next seq, so the
   * iterator never skips or repeats a seq; it ends when `signal` aborts.
   */
  async *watch(fromSeq: bigint, options: WatchOptions = {}): AsyncGenerator<WatchedEntry> {
    let next = fromSeq;
    let idleReconnects = 0;
    const reconnectsMax = options.reconnectsMax ?? 10;
    while (!options.signal?.aborted) {
      // One controller per connection: the caller's abort, or an idle connection, ends it.
      const connection = new AbortController();
      const onAbort = () => connection.abort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const idleMs = options.idleTimeoutMs ?? 45_000;
      let idle = setTimeout(() => connection.abort(), idleMs);
      try {
        let response: Response;
        try {
          response = await fetch(`${this.urls[0]}/v1/watch?fromSeq=${next}`, { signal: connection.signal });
        } catch (error) {
          if (options.signal?.aborted) return;
          if (++idleReconnects > reconnectsMax) throw error;
          await sleep(this.retryDelayMs * idleReconnects);
          continue;
        }
        if (!response.ok)
          throw httpError(
            response.status,
            (await response.json().catch(() => ({}))) as Record<string, unknown>,
          );
        try {
          for await (const line of lines(response.body!)) {
            clearTimeout(idle);
            idle = setTimeout(() => connection.abort(), idleMs);
            const item = JSON.parse(line) as Record<string, unknown>;
            if ('cut' in item) {
              const cut = item['cut'] as { reason: string; resumeFromSeq: string };
              options.onCut?.(cut.reason, BigInt(cut.resumeFromSeq));
              break;
            }
            if ('heartbeat' in item) continue;
            if ('skipped' in item) {
              const skipped = item['skipped'] as { fromSeq: string; toSeq: string };
              if (BigInt(skipped.fromSeq) !== next) throw new WatchGapError(next, BigInt(skipped.fromSeq));
              options.onSkipped?.(BigInt(skipped.fromSeq), BigInt(skipped.toSeq));
              next = BigInt(skipped.toSeq) + 1n;
              continue;
            }
            const entry: WatchedEntry = {
              seq: BigInt(item['seq'] as string),
              epoch: BigInt(item['epoch'] as string),
              ts: item['ts'] as number,
              type: item['type'] as string,
              key: item['key'] as string,
              value: Buffer.from(item['value'] as string, 'base64'),
            };
            if (entry.seq < next) continue;
            if (entry.seq > next) throw new WatchGapError(next, entry.seq);
            next = entry.seq + 1n;
            idleReconnects = 0;
            yield entry;
          }
        } catch (error) {
          if (options.signal?.aborted) return;
          if (error instanceof WatchGapError) throw error;
        }
      } finally {
        clearTimeout(idle);
        options.signal?.removeEventListener('abort', onAbort);
        connection.abort();
      }
      if (++idleReconnects > reconnectsMax)
        throw new Error(`watch: ${reconnectsMax} reconnects without an entry`);
      await sleep(this.retryDelayMs);
    }
  }

  private async fetch(
    index: number,
    path: string,
    { method = 'GET', body, auth = false }: { method?: string; body?: string; auth?: boolean },
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth && this.options.token !== undefined) headers['authorization'] = `Bearer ${this.options.token}`;
    return fetch(`${this.urls[index]}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }
}

function httpError(status: number, body: Record<string, unknown>): OplogHttpError {
  return new OplogHttpError(
    status,
    typeof body['code'] === 'string' ? body['code'] : 'OPLOG_HTTP',
    typeof body['message'] === 'string' ? body['message'] : `HTTP ${status}`,
    body,
  );
}

/** A connection refused (or a name not resolved) never sent the request. */
function refusedBeforeSending(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      if (line.length > 0) yield line;
    }
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
