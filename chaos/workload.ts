/**
 * The fault suite's clients, each op recorded as it happens (history.ts):
 *
 * - **writers** append one put at a time through `OplogClient` (every node's URL: it
 *   finds the primary, and retries only what provably wrote nothing). An answer is
 *   `ok`; `AppendOutcomeUnknownError` (timeout, lost connection, `outcome: unknown`) is
 *   `info`; anything else the client throws is a refusal that wrote nothing, `fail`.
 * - **readers** take some acknowledged appends and read the key back on a random node
 *   with `minSeq` = the append's seq (a causal read), by raw HTTP so the seq in the
 *   answer's body — the applied seq the value was read at — is what is recorded.
 */
import { AppendOutcomeUnknownError, OplogClient } from '../src/client/oplog-client.js';
import type { Random } from './fault-proxy.js';
import type { AppendOp, AppendOutcome, CausalRead } from './history.js';

export interface WorkloadOptions {
  readonly urls: () => readonly string[];
  readonly random: Random;
  readonly writers: number;
  readonly readers: number;
  readonly keys: number;
  /** Pause between one writer's appends. */
  readonly pauseMs: number;
  /** Share of acknowledged appends read back. */
  readonly readFraction: number;
  /** Per request. */
  readonly timeoutMs: number;
}

/** Read requests waiting for a reader; beyond this, new ones are dropped (readers fell behind). */
const READ_QUEUE_MAX = 64;

export class Workload {
  readonly appends: AppendOp[] = [];
  /** When the last `ok` append completed (0: none yet). */
  lastOkMs = 0;
  readonly reads: CausalRead[] = [];
  private readonly readQueue: { key: string; minSeq: bigint }[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly options: WorkloadOptions) {}

  start(): void {
    for (let i = 1; i <= this.options.writers; i++) this.loops.push(this.writer(`w${i}`));
    for (let i = 1; i <= this.options.readers; i++) this.loops.push(this.reader(`r${i}`));
  }

  /** Stops every client after its op in flight completes (and is recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async writer(name: string): Promise<void> {
    const { random, keys, timeoutMs } = this.options;
    let client = this.client();
    for (let n = 1; !this.stopped; n++) {
      // A fresh client now and then picks up URLs of nodes added since.
      if (n % 50 === 0) client = this.client();
      const key = `k${Math.floor(random() * keys)}`;
      const value = `${name}-${String(n).padStart(6, '0')}`;
      const invokeMs = Date.now();
      const outcome = await appendOutcome(client, key, value);
      const completeMs = Date.now();
      this.appends.push({ value, key, client: name, invokeMs, completeMs, outcome });
      if (outcome.type === 'ok') this.lastOkMs = completeMs;
      if (
        outcome.type === 'ok' &&
        random() < this.options.readFraction &&
        this.readQueue.length < READ_QUEUE_MAX
      )
        this.readQueue.push({ key, minSeq: outcome.seq });
      // After a refusal or an unknown outcome, back off a little (the cluster may be failing
      // over), and start again from a random node: OplogClient keeps sending to the node
      // that last answered as primary, which may be the one that is paused.
      if (outcome.type !== 'ok') client = this.client();
      await sleep(outcome.type === 'ok' ? this.options.pauseMs : Math.min(timeoutMs, 200));
    }
  }

  /** A client over every node's URL, starting at a random one. */
  private client(): OplogClient {
    const urls = this.options.urls();
    const first = Math.floor(this.options.random() * urls.length);
    return new OplogClient({
      urls: [...urls.slice(first), ...urls.slice(0, first)],
      attempts: 2,
      timeoutMs: this.options.timeoutMs,
      retryDelayMs: 50,
    });
  }

  private async reader(name: string): Promise<void> {
    while (!this.stopped) {
      const next = this.readQueue.shift();
      if (next === undefined) {
        await sleep(20);
        continue;
      }
      const urls = this.options.urls();
      const url = urls[Math.floor(this.options.random() * urls.length)]!;
      const invokeMs = Date.now();
      const outcome = await causalRead(url, next.key, next.minSeq, this.options.timeoutMs);
      this.reads.push({
        client: name,
        node: url,
        key: next.key,
        minSeq: next.minSeq,
        invokeMs,
        completeMs: Date.now(),
        outcome,
      });
    }
  }
}

async function appendOutcome(client: OplogClient, key: string, value: string): Promise<AppendOutcome> {
  try {
    const { seqs, epoch } = await client.append({ type: 'put', key, value: Buffer.from(value) });
    return { type: 'ok', seq: seqs[0]!, epoch };
  } catch (error) {
    if (error instanceof AppendOutcomeUnknownError)
      return { type: 'info', error: error.message, seqs: [...error.seqs] };
    // The client throws anything else only for a request that provably wrote nothing.
    return { type: 'fail', error: error instanceof Error ? error.message : String(error) };
  }
}

async function causalRead(
  url: string,
  key: string,
  minSeq: bigint,
  timeoutMs: number,
): Promise<CausalRead['outcome']> {
  try {
    const response = await fetch(`${url}/v1/kv/${encodeURIComponent(key)}?minSeq=${minSeq}&waitMs=3000`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (response.status === 200)
      return {
        type: 'ok',
        seq: BigInt(body['seq'] as string),
        value: Buffer.from(body['value'] as string, 'base64').toString('utf8'),
      };
    if (response.status === 404 && body['code'] === 'OPLOG_NO_SUCH_KEY')
      return { type: 'ok', seq: BigInt(body['appliedSeq'] as string), value: null };
    return { type: 'fail', error: `${response.status} ${String(body['code'])}` };
  } catch (error) {
    return { type: 'fail', error: error instanceof Error ? error.message : String(error) };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
