/**
 * The etcd LogStore (DESIGN.md "Stores"). Keys, under a validated prefix and cluster id:
 *
 *   /<prefix>/<cluster>/log/<firstSeq, 20 digits>   one batch record
 *   /<prefix>/<cluster>/head                        lastSeq of the last record
 *   /<prefix>/<cluster>/head-epoch                  that record's epoch
 *   /<prefix>/<cluster>/epoch                       the fencing epoch
 *
 * An append is one transaction, one raft proposal:
 * `If(epoch == mine AND head == firstSeq − 1) Then(put record, put head, put head-epoch)
 * Else(get epoch, get head, get log/<firstSeq>)`; the Else answers decide, atomically,
 * between an idempotent retry, a conflict, a fence and a gap. A subscription reads, then
 * watches the log keys. The watch is a doorbell plus a cache, never the source of
 * truth: a record that arrives by the watch (verified like any read) is delivered only
 * when it starts exactly at the last delivered seq + 1; anything else — nothing cached,
 * a hole, a cancelled watch, a compacted revision, a reconnect — is a range read from
 * that seq. So the subscription can never skip or resume blindly, and while the watch
 * keeps up, following costs no read at all.
 *
 * Over 350 lines because the group transaction, the read path and the subscription
 * share one client, one key layout and one error translation; the lease election, which
 * shares them too, is ./election.ts, and the append queue is ../append-queue.ts.
 */
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdPermissionDeniedError,
  type IKeyValue,
  type Watcher,
} from 'etcd3';
import { validateClusterId } from '../../core/cluster-id.js';
import {
  ClosedError,
  CorruptStoreError,
  OplogError,
  StoreAuthError,
  StoreUnavailableError,
  TruncatedError,
  type StoreAuthRefusal,
} from '../../core/errors.js';
import { verifyRecord, type BatchRecord, type VerifiedRecord } from '../../core/record-codec.js';
import { epoch as toEpoch, seq as toSeq, type Epoch, type Head, type Seq } from '../../core/types.js';
import { AppendQueue, type QueuedAppend } from '../append-queue.js';
import { bufferView } from '../buffer-view.js';
import { checkFence, decideAppend, verifyForAppend } from '../contract-rules.js';
import type { LogStore, Subscription } from '../log-store.js';
import { Doorbell, tailSubscription } from '../tail-subscription.js';
import { memberFailover } from './member-failover.js';

export interface EtcdStoreOptions {
  /** `host:port` or URLs; several for a cluster. */
  readonly hosts: string | readonly string[];
  readonly clusterId: string;
  /** First key segment; same rules as a cluster id. Default `oplog`. */
  readonly prefix?: string;
  /** Deadline of every unary call. Default 5,000 ms. */
  readonly callTimeoutMs?: number;
  /** Records per range request when reading. Default 16 (records are ≤ 900 KiB). */
  readonly pageRecords?: number;
  /** A subscription re-reads at least this often without a watch event. Default 1,000 ms. */
  readonly pollIntervalMs?: number;
  /**
   * Most record bytes in one transaction. Default 1.25 MiB, under etcd's default
   * --max-request-bytes of 1.5 MiB; raise both together.
   */
  readonly txnBytesMax?: number;
  /**
   * TLS to etcd (endpoints become https): the CA that signed etcd's certificate, and a
   * client certificate and key for etcd's `--client-cert-auth`. PEM bytes.
   */
  readonly tls?: { readonly ca: Uint8Array; readonly cert?: Uint8Array; readonly key?: Uint8Array };
  /** etcd user and password (etcd's auth enabled). */
  readonly auth?: { readonly username: string; readonly password: string };
}

/** First key segment when EtcdStoreOptions.prefix is left out. */
export const DEFAULT_ETCD_PREFIX = 'oplog';
export const DEFAULT_ETCD_CALL_TIMEOUT_MS = 5_000;

const SEQ_DIGITS = 20;
/** Seqs one range read spans (see read()): the cost of a page is the keys in its window. */
const READ_WINDOW_SEQS = 1_024n;
/** etcd allows 128 operations per transaction (default --max-txn-ops); 2 are the head keys. */
const TXN_RECORDS_MAX = 126;

interface AppendItem {
  readonly record: BatchRecord;
  readonly epoch: Epoch;
}

export class EtcdLogStore implements LogStore {
  readonly kind = 'etcd';
  private readonly client: Etcd3;
  private readonly root: string;
  private readonly logPrefix: string;
  private readonly headKey: string;
  private readonly headEpochKey: string;
  private readonly epochKey: string;
  private readonly pageRecords: number;
  private readonly pollIntervalMs: number;
  private readonly txnBytesMax: number;
  private closed = false;

  /** Validates every name before a client exists, so a bad one never reaches etcd. */
  constructor(private readonly options: EtcdStoreOptions) {
    const cluster = validateClusterId(options.clusterId);
    const prefix = validateClusterId(options.prefix ?? DEFAULT_ETCD_PREFIX);
    this.root = `/${prefix}/${cluster}`;
    this.logPrefix = `${this.root}/log/`;
    this.headKey = `${this.root}/head`;
    this.headEpochKey = `${this.root}/head-epoch`;
    this.epochKey = `${this.root}/epoch`;
    this.pageRecords = options.pageRecords ?? 16;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.txnBytesMax = options.txnBytesMax ?? 1.25 * 1024 * 1024;
    const scheme = options.tls === undefined ? 'http' : 'https';
    const hosts = (typeof options.hosts === 'string' ? [options.hosts] : options.hosts).map((h) =>
      h.includes('://') ? h : `${scheme}://${h}`,
    );
    const tls = options.tls;
    const callTimeoutMs = options.callTimeoutMs ?? DEFAULT_ETCD_CALL_TIMEOUT_MS;
    this.client = new Etcd3({
      hosts,
      ...(tls === undefined
        ? {}
        : {
            credentials: {
              rootCertificate: Buffer.from(tls.ca),
              ...(tls.key === undefined ? {} : { privateKey: Buffer.from(tls.key) }),
              ...(tls.cert === undefined ? {} : { certChain: Buffer.from(tls.cert) }),
            },
          }),
      ...(options.auth === undefined
        ? {}
        : { auth: { username: options.auth.username, password: options.auth.password } }),
      dialTimeout: callTimeoutMs,
      // Retries are ours (the writer retries the same record; subscriptions re-read):
      // the client's own retry and circuit breaker would hide outages and delay recovery.
      // Only steering away from a member that is down, and making again a call that
      // never left, are the client's (./member-failover.ts).
      faultHandling: memberFailover(hosts.length),
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      grpcOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
    });
  }

  /**
   * Appends are written in call order, one transaction at a time: etcd may apply
   * concurrent transactions in any order, and a record that overtook its predecessor
   * would fail its head compare. Appends that queue up while a transaction runs go
   * together into the next one (one raft proposal, one fsync), within etcd's request
   * size and operation limits: that is where pipelining pays with etcd. Fence and
   * retention are not queued (as before the shared queue): a fence may land before
   * appends called earlier, which then fail as fenced, as the contract allows.
   */
  append(record: BatchRecord, epoch: Epoch): Promise<void> {
    return this.queue.append({ record, epoch });
  }

  /**
   * When etcd does not answer (timeout, unavailable, closed), nothing after the failed
   * call can go before it does: the rest of the group and everything queued behind it
   * fail together, with that one error, so an outage costs one call timeout, not one
   * per record.
   */
  private readonly queue = new AppendQueue<AppendItem>({
    cut: (run) => this.groupLength(run),
    write: (group) => this.writeGroup(group),
    onWriteFailure: 'queued',
  });

  /** The longest prefix of `run` that is contiguous, of one epoch, and within limits. */
  private groupLength(run: readonly QueuedAppend<AppendItem>[]): number {
    let count = 1;
    let bytes = run[0]!.item.record.bytes.length;
    while (count < run.length && count < TXN_RECORDS_MAX) {
      const next = run[count]!.item;
      const last = run[count - 1]!.item;
      if (next.epoch !== last.epoch || next.record.firstSeq !== last.record.lastSeq + 1n) break;
      if (bytes + next.record.bytes.length > this.txnBytesMax) break;
      bytes += next.record.bytes.length;
      count++;
    }
    return count;
  }

  /**
   * Writes a group in one transaction. One that etcd refuses (fence, gap, or records
   * already stored by an earlier attempt) is decided record by record, each answered at
   * once by its own transaction's Else reads. Throws when etcd does not answer.
   */
  private async writeGroup(group: readonly QueuedAppend<AppendItem>[]): Promise<void> {
    if (group.length > 1 && (await this.appendGroup(group.map((a) => a.item)))) {
      for (const append of group) append.resolve();
      return;
    }
    for (const append of group) {
      try {
        await this.appendOnce(append.item.record, append.item.epoch);
      } catch (error) {
        if (!answered(error)) throw error;
        append.reject(error);
        continue;
      }
      append.resolve();
    }
  }

  /**
   * One fenced transaction for several contiguous records; false when its compare fails
   * or a record does not verify (each is then decided on its own). Throws when etcd
   * does not answer.
   */
  private async appendGroup(group: readonly AppendItem[]): Promise<boolean> {
    this.checkOpen();
    const first = group[0]!;
    const epoch = first.epoch;
    let verified: BatchRecord[];
    try {
      verified = group.map((item) => verifyRecord(item.record.bytes));
    } catch {
      return false;
    }
    if (verified.some((v) => v.epoch > epoch)) return false;
    const last = verified.at(-1)!;
    const result = await this.call('etcd append', { firstSeq: verified[0]!.firstSeq }, () =>
      this.client
        .if(this.epochKey, 'Value', '==', String(epoch))
        .and(this.headKey, 'Value', '==', String(verified[0]!.firstSeq - 1n))
        .then(
          ...group.map((item, i) =>
            this.client.put(this.logKey(verified[i]!.firstSeq)).value(bufferView(item.record.bytes)),
          ),
          this.client.put(this.headKey).value(String(last.lastSeq)),
          this.client.put(this.headEpochKey).value(String(last.epoch)),
        )
        .commit(),
    );
    return result.succeeded;
  }

  private async appendOnce(record: BatchRecord, epoch: Epoch): Promise<void> {
    this.checkOpen();
    const verified = verifyForAppend(record, epoch);
    const key = this.logKey(verified.firstSeq);
    const result = await this.call('etcd append', { firstSeq: verified.firstSeq }, () =>
      this.client
        .if(this.epochKey, 'Value', '==', String(epoch))
        .and(this.headKey, 'Value', '==', String(verified.firstSeq - 1n))
        .then(
          this.client.put(key).value(bufferView(record.bytes)),
          this.client.put(this.headKey).value(String(verified.lastSeq)),
          this.client.put(this.headEpochKey).value(String(verified.epoch)),
        )
        .else(this.client.get(this.epochKey), this.client.get(this.headKey), this.client.get(key))
        .commit(),
    );
    if (result.succeeded) return;
    // The Else reads were taken atomically with the failed compare: decide on them.
    const [epochKv, headKv, storedKv] = result.responses.map((r) => r.response_range?.kvs?.[0]);
    const stored = storedKv === undefined ? undefined : this.verifyStored(storedKv, verified.firstSeq);
    const decision = await decideAppend(verified, epoch, {
      epoch: toEpoch(decimal(epochKv)),
      lastSeq: decimal(headKv),
      recordAt: (seq) => (seq === verified.firstSeq ? stored : undefined),
    });
    // `write` would mean the compare held after all: not possible within one transaction.
    if (decision === 'write')
      throw new StoreUnavailableError('etcd append: compare failed without a reason', {
        firstSeq: verified.firstSeq,
      });
  }

  async *read(fromSeq: Seq, limitRecords = Infinity): AsyncIterable<VerifiedRecord> {
    this.checkOpen();
    // The head before the range reads: every seq up to it must come out of them
    // (appends only add above it; retention never removes the head record). The
    // covering-record lookup goes in parallel; the pages are read after both.
    const [head, candidate] = await Promise.all([
      this.head(),
      this.lastRecordAtOrBefore(fromSeq, 'etcd read'),
    ]);
    const headSeq = head.lastSeq;
    let nextSeq: bigint = fromSeq;
    let delivered = 0;
    let startKey = this.logKey(fromSeq);
    let first = true;
    if (candidate !== undefined) {
      const record = this.verifyStored(candidate, undefined);
      if (record.lastSeq >= fromSeq) startKey = candidate.key.toString();
    }
    while (delivered < limitRecords) {
      // A window of seqs, not the rest of the log: etcd 3.4 walks a range's whole index
      // (to count it) whatever its limit, so an open-ended page cost the rest of the log
      // and reading a 100k-record log page by page was quadratic (~150 ms a page at
      // the end of a 30-minute fault run). The log is contiguous: the next record
      // starts at nextSeq, so it is in the window when it exists.
      const page = await this.call('etcd read', { fromSeq: nextSeq }, () =>
        this.client
          .getAll()
          .inRange({ start: startKey, end: this.logKey(nextSeq + READ_WINDOW_SEQS) })
          .sort('Key', 'Ascend')
          .limit(Math.min(this.pageRecords, limitRecords - delivered))
          .exec(),
      );
      if (page.kvs.length === 0) {
        // Past the head: the end. Below it: records are missing (or retention removed them).
        if (nextSeq > headSeq) break;
        throw await this.missingAt(nextSeq, headSeq, startKey, first);
      }
      for (const kv of page.kvs) {
        const record = this.verifyStored(kv, undefined);
        if (record.firstSeq > nextSeq) {
          if (first && nextSeq <= headSeq) throw await this.missingAt(nextSeq, headSeq, startKey, first);
          throw new CorruptStoreError(kv.key.toString(), nextSeq, `record at ${record.firstSeq} skips ahead`);
        }
        first = false;
        yield record;
        nextSeq = record.lastSeq + 1n;
        delivered++;
      }
      startKey = `${page.kvs.at(-1)!.key.toString()}\0`;
    }
  }

  /**
   * Why no record starts at `nextSeq` (≤ the head): below the first retained record it
   * is truncation (TruncatedError, for the first record of a read), otherwise records
   * missing from the middle of the log. One open-ended lookup, on this error path only.
   */
  private async missingAt(
    nextSeq: bigint,
    headSeq: bigint,
    startKey: string,
    first: boolean,
  ): Promise<Error> {
    const after = await this.call('etcd read', { fromSeq: nextSeq }, () =>
      this.client
        .getAll()
        .inRange({ start: startKey, end: `${this.logPrefix}~` })
        .sort('Key', 'Ascend')
        .limit(1)
        .keys(),
    );
    const nextKey = after[0];
    if (nextKey === undefined)
      return new CorruptStoreError(
        this.logKey(nextSeq),
        nextSeq,
        `records ${nextSeq}..${headSeq} are missing from the log (its head is ${headSeq})`,
      );
    const nextFirstSeq = BigInt(nextKey.slice(this.logPrefix.length));
    if (first && (await this.lastRecordAtOrBefore(nextSeq, 'etcd read')) === undefined)
      return new TruncatedError(nextSeq, nextFirstSeq);
    return new CorruptStoreError(
      nextKey,
      nextSeq,
      `records ${nextSeq}..${nextFirstSeq - 1n} are missing from the log`,
    );
  }

  async head(): Promise<Head> {
    this.checkOpen();
    // One range over both keys: a consistent pair, never a new head with an old epoch.
    const response = await this.call('etcd head', {}, () =>
      this.client
        .getAll()
        .inRange({ start: this.headKey, end: `${this.headKey}~` })
        .exec(),
    );
    const byKey = new Map(response.kvs.map((kv) => [kv.key.toString(), kv]));
    return {
      lastSeq: toSeq(decimal(byKey.get(this.headKey))),
      epoch: toEpoch(decimal(byKey.get(this.headEpochKey))),
    };
  }

  async currentEpoch(): Promise<Epoch> {
    this.checkOpen();
    const value = await this.call('etcd epoch', {}, () => this.client.get(this.epochKey).string());
    return toEpoch(value === null ? 0n : BigInt(value));
  }

  /** A compare-and-set on the epoch key; the first fence also creates head = 0. */
  async fence(epoch: Epoch): Promise<void> {
    this.checkOpen();
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.currentEpoch();
      checkFence(epoch, current);
      const txn =
        current === 0n
          ? this.client
              .if(this.epochKey, 'Version', '==', 0)
              .and(this.headKey, 'Version', '==', 0)
              .then(
                this.client.put(this.epochKey).value(String(epoch)),
                this.client.put(this.headKey).value('0'),
                this.client.put(this.headEpochKey).value('0'),
              )
          : this.client
              .if(this.epochKey, 'Value', '==', String(current))
              .then(this.client.put(this.epochKey).value(String(epoch)));
      const result = await this.call('etcd fence', { epoch }, () => txn.commit());
      if (result.succeeded) return;
      // Someone else moved the epoch (or created head) in between: look again.
    }
    throw new StoreUnavailableError('etcd fence: the epoch kept changing', { epoch });
  }

  subscribe(fromSeq: Seq): Subscription {
    this.checkOpen();
    const doorbell = new Doorbell(this.pollIntervalMs, () => this.closed);
    const ring = () => doorbell.ring();
    const cache = new ArrivedRecords();
    let watcher: Watcher | undefined;
    let closed = false;
    // Every committed record put rings the doorbell and is cached; trouble with the watch rings too.
    void this.client
      .watch()
      .prefix(this.logPrefix)
      .create()
      .then((w) => {
        if (closed) return void w.cancel().catch(() => undefined);
        watcher = w;
        w.on('put', (kv) => {
          try {
            cache.add(this.verifyStored(kv, undefined));
          } catch {
            // Not cached: the range read meets the same bytes and reports them.
          }
          ring();
        });
        for (const event of ['connected', 'disconnected', 'error', 'end'] as const)
          w.on(event as 'connected', ring);
      })
      .catch(ring);
    return tailSubscription(
      {
        read: (from) => this.readArrivedFirst(cache, from),
        changeCount: () => doorbell.changes,
        waitForChange: (signal, sinceCount) => doorbell.wait(signal, sinceCount),
        close: () => {
          closed = true;
          cache.clear();
          void watcher?.cancel().catch(() => undefined);
        },
      },
      fromSeq,
    );
  }

  /**
   * A subscription's read: the records the watch brought, as long as they continue
   * exactly from `from`; a range read when it brought nothing usable.
   */
  private async *readArrivedFirst(cache: ArrivedRecords, from: Seq): AsyncGenerator<VerifiedRecord> {
    let next: bigint = from;
    for (let record = cache.take(next); record !== undefined; record = cache.take(next)) {
      yield record;
      next = record.lastSeq + 1n;
    }
    if (next === from) yield* this.read(from);
  }

  /** Deletes the records that end below `seq`; the head record always stays. */
  async truncateBefore(seq: Seq): Promise<void> {
    this.checkOpen();
    const head = await this.head();
    const limit = seq > head.lastSeq ? head.lastSeq : seq;
    // The record covering `limit` stays; everything keyed before it goes.
    const keep = (await this.lastRecordAtOrBefore(limit, 'etcd truncate'))?.key.toString();
    if (keep === undefined) return;
    await this.call('etcd truncate', { seq }, () =>
      this.client.delete().inRange({ start: this.logPrefix, end: keep }).exec(),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }

  /**
   * The stored record with the greatest firstSeq ≤ `seq`: the one covering it, if any.
   * Looked for first among the {@link READ_WINDOW_SEQS} seqs up to `seq` (etcd 3.4 reads
   * a descending range whole before it sorts and limits), then, when none starts there
   * (a longer record, retention, an empty log), over the whole log below it.
   */
  private async lastRecordAtOrBefore(seq: bigint, operation: string): Promise<IKeyValue | undefined> {
    const end = `${this.logKey(seq)}\0`;
    if (seq <= READ_WINDOW_SEQS) return this.lastRecordIn(this.logPrefix, end, operation, seq);
    const windowStart = this.logKey(seq - READ_WINDOW_SEQS + 1n);
    return (
      (await this.lastRecordIn(windowStart, end, operation, seq)) ??
      (await this.lastRecordIn(this.logPrefix, windowStart, operation, seq))
    );
  }

  /** The record with the greatest key in [start, end): its key first (keys only), then the record. */
  private async lastRecordIn(
    start: string,
    end: string,
    operation: string,
    seq: bigint,
  ): Promise<IKeyValue | undefined> {
    const keys = await this.call(operation, { seq }, () =>
      this.client.getAll().inRange({ start, end }).sort('Key', 'Descend').limit(1).keys(),
    );
    const key = keys[0];
    if (key === undefined) return undefined;
    const response = await this.call(operation, { seq }, () =>
      this.client
        .getAll()
        .inRange({ start: key, end: `${key}\0` })
        .exec(),
    );
    return response.kvs[0];
  }

  private logKey(seq: bigint): string {
    return `${this.logPrefix}${seq.toString().padStart(SEQ_DIGITS, '0')}`;
  }

  /** Verifies a stored record and that its key names its firstSeq. */
  private verifyStored(kv: IKeyValue, expectedFirstSeq: bigint | undefined): VerifiedRecord {
    const key = kv.key.toString();
    try {
      const record = verifyRecord(new Uint8Array(kv.value.buffer, kv.value.byteOffset, kv.value.length));
      const keySeq = BigInt(key.slice(this.logPrefix.length));
      if (record.firstSeq !== keySeq || (expectedFirstSeq !== undefined && keySeq !== expectedFirstSeq))
        throw new Error(`key says ${keySeq}, record starts at ${record.firstSeq}`);
      return record;
    } catch (cause) {
      throw new CorruptStoreError(key, expectedFirstSeq, 'stored record fails verification', { cause });
    }
  }

  /**
   * @internal For the leader election on the same cluster (election.ts), which shares
   * this store's client (one connection per cluster), its key root and `call`.
   */
  shared(): EtcdShared {
    return {
      client: this.client,
      root: this.root,
      call: (operation, context, fn) => this.call(operation, context, fn),
    };
  }

  /**
   * Runs an etcd call; etcd refusing our user or its permissions becomes StoreAuthError
   * (not retryable), other transport and server failures StoreUnavailableError.
   */
  private async call<T>(
    operation: string,
    context: Readonly<Record<string, string | number | bigint | undefined>>,
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      if (cause instanceof OplogError) throw cause;
      if (this.closed) throw new ClosedError('etcd store', { cause });
      const where = { cluster: this.options.clusterId, ...context };
      const refusal = authRefusal(cause);
      if (refusal !== undefined) throw new StoreAuthError(operation, refusal, where, { cause });
      throw new StoreUnavailableError(operation, where, { cause });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('etcd store');
  }
}

/** @internal What an EtcdLogStore shares with the election on its cluster. */
export interface EtcdShared {
  readonly client: Etcd3;
  /** `/<prefix>/<cluster>`. */
  readonly root: string;
  /**
   * Runs an etcd call; failures become StoreUnavailableError naming `operation`
   * (StoreAuthError when etcd refuses our user, ClosedError once closed).
   */
  call<T>(
    operation: string,
    context: Readonly<Record<string, string | number | bigint | undefined>>,
    fn: () => Promise<T>,
  ): Promise<T>;
}

/**
 * An append refused by etcd's answer about that record (fenced, conflict, gap, bad
 * bytes), not by silence or by a refusal of our user, which every later record meets too.
 */
function answered(error: unknown): boolean {
  return !(
    error instanceof StoreUnavailableError ||
    error instanceof ClosedError ||
    error instanceof StoreAuthError
  );
}

/**
 * @internal etcd (auth enabled) refusing who we are: a wrong user or password, no user
 * at all ("user name is empty": the store has no `auth`), or a user whose roles do not
 * cover the keys. An expired token is none of these: the client authenticates again by
 * itself. Also for election.ts, whose watch reports such a refusal only as a disconnect.
 */
export function authRefusal(error: unknown): StoreAuthRefusal | undefined {
  if (error instanceof EtcdAuthenticationFailedError) return 'credentials';
  if (error instanceof EtcdPermissionDeniedError) return 'permission';
  if (error instanceof Error && error.message.includes('etcdserver: user name is empty'))
    return 'credentials';
  return undefined;
}

function decimal(kv: IKeyValue | undefined): bigint {
  return kv === undefined ? 0n : BigInt(kv.value.toString());
}

/**
 * Records that arrived by a subscription's watch, by firstSeq, bounded in bytes (past
 * the bound new arrivals are dropped: the range read covers them). take(seq) hands out
 * the record starting at `seq` and forgets everything below it.
 */
class ArrivedRecords {
  private readonly records = new Map<bigint, VerifiedRecord>();
  private bytes = 0;

  add(record: VerifiedRecord): void {
    if (this.bytes + record.bytes.length > ARRIVED_BYTES_MAX || this.records.has(record.firstSeq)) return;
    this.records.set(record.firstSeq, record);
    this.bytes += record.bytes.length;
  }

  take(seq: bigint): VerifiedRecord | undefined {
    // Arrivals are in commit order, so what lies below `seq` is at the front.
    for (const [firstSeq, record] of this.records) {
      if (firstSeq >= seq) break;
      this.drop(firstSeq, record);
    }
    const record = this.records.get(seq);
    if (record !== undefined) this.drop(seq, record);
    return record;
  }

  private drop(firstSeq: bigint, record: BatchRecord): void {
    this.records.delete(firstSeq);
    this.bytes -= record.bytes.length;
  }

  clear(): void {
    this.records.clear();
    this.bytes = 0;
  }
}

const ARRIVED_BYTES_MAX = 32 * 1024 * 1024;
