/**
 * The one store-side append queue behind every LogStore adapter (issue 13). The
 * contract lets appends overlap and stores them in call order; fences and retention
 * must not overtake an append called before them. So every adapter queues its writes
 * here: appends and barrier jobs (a fence, a truncation) in call order, one drain at a
 * time. Appends that queue up while a write is in progress go out together as the next
 * group (group commit at the store); a barrier runs alone, between groups.
 *
 * What differs per store is supplied by its {@link GroupWriter}: how the next group is
 * cut from the appends at the front (limits, contiguity, epoch), how a group is written
 * and settled, and what a write that fails takes down with it.
 */
import { assert } from '../core/errors.js';

/** One queued append: the adapter's item and its caller's promise. */
export interface QueuedAppend<T> {
  readonly item: T;
  /** Settles the caller's promise. The first settle wins; later ones do nothing. */
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * What a group write that throws rejects, besides the appends of its group not settled
 * yet (all with the thrown error):
 *
 * - `group`: nothing else; the jobs queued behind it run (the next write may succeed).
 * - `queued`: every job queued behind it as well, since none of them may go before the
 *   failed write does; jobs called later run as usual (etcd: an outage costs one call
 *   timeout, not one per record).
 * - `store`: as `queued`, and the queue stays failed: every later job is rejected with
 *   the same error (a store that must be reopened to repair itself).
 */
export type WriteFailurePolicy = 'group' | 'queued' | 'store';

/** How one store cuts, writes and settles groups of appends. */
export interface GroupWriter<T> {
  /**
   * How many appends from the front of `run` go into the next group: between 1 and
   * `run.length`. `run` is every append queued before the next barrier, in call order
   * (never empty); read it, do not keep it.
   */
  cut(run: readonly QueuedAppend<T>[]): number;
  /**
   * Writes one group and settles each of its appends, before returning or later (the
   * file store acknowledges once its recovery point is durable). Throws when the write
   * failed as a whole; then {@link onWriteFailure} decides what is rejected.
   */
  write(group: readonly QueuedAppend<T>[]): Promise<void>;
  readonly onWriteFailure: WriteFailurePolicy;
  /**
   * Awaited before each group is cut, so appends called meanwhile still join it (Kafka:
   * one turn of the event loop, for the callers of the previous group's acks).
   */
  beforeCut?(): Promise<void>;
  /**
   * Resolves once every group written so far is settled; never rejects. Awaited before
   * a barrier runs and before a drain ends, so a barrier never overtakes an earlier
   * append's acknowledgement and close() waits for the last one.
   */
  settled?(): Promise<void>;
}

interface AppendRun<T> {
  readonly kind: 'appends';
  /** Contiguous in call order: appends called with no barrier between them. */
  readonly appends: QueuedAppend<T>[];
}

interface Barrier {
  readonly kind: 'barrier';
  readonly run: () => Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export class AppendQueue<T> {
  /** In call order; never two runs of appends next to each other. */
  private readonly jobs: (AppendRun<T> | Barrier)[] = [];
  /** True from the first job enqueued into an idle queue until its drain saw it empty. */
  private drainActive = false;
  private draining: Promise<void> | undefined;
  /** Set by close(): the error every later job is rejected with. */
  private refusal: (() => unknown) | undefined;
  /** Set by fail() or a `store` failure; every later job is rejected with it. */
  private failure: { readonly error: unknown } | undefined;

  constructor(private readonly writer: GroupWriter<T>) {}

  /** Queues an append; settles as the writer settles it, or as a failure policy rejects it. */
  append(item: T): Promise<void> {
    return this.enqueue((resolve, reject) => {
      const append = { item, resolve, reject };
      const last = this.jobs.at(-1);
      if (last?.kind === 'appends') last.appends.push(append);
      else this.jobs.push({ kind: 'appends', appends: [append] });
    });
  }

  /**
   * Queues `run` to run alone after every job called before it (and, with `settled`,
   * after their appends are settled) and before any job called after it. Settles as
   * `run` does; its failure rejects only itself.
   */
  barrier(run: () => Promise<void>): Promise<void> {
    return this.enqueue((resolve, reject) => this.jobs.push({ kind: 'barrier', run, resolve, reject }));
  }

  /**
   * The store failed outside a write (the file store's mark write): rejects every
   * queued job and every later one with `error`. A job already running is its
   * writer's to settle.
   */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.rejectQueued(this.failure.error);
  }

  /**
   * Refuses every later job with `refusal()`; resolves once the jobs queued before it
   * have run and their appends are settled. Idempotent.
   */
  async close(refusal: () => unknown): Promise<void> {
    this.refusal ??= refusal;
    if (this.drainActive) await this.draining;
  }

  private enqueue(push: (resolve: () => void, reject: (error: unknown) => void) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.refusal !== undefined) return reject(this.refusal());
      if (this.failure !== undefined) return reject(this.failure.error);
      push(resolve, reject);
      if (!this.drainActive) {
        this.drainActive = true;
        this.draining = this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      while (this.jobs.length > 0 && this.failure === undefined) await this.runNext();
      // Jobs may queue while the last group's acks wait for the writer.
      if (this.writer.settled !== undefined) await this.writer.settled();
      if (this.jobs.length === 0 || this.failure !== undefined) break;
    }
    assert(this.jobs.length === 0, () => `append queue drain ended with ${this.jobs.length} jobs queued`);
    // Cleared in the same synchronous step that saw the queue empty, so a job enqueued
    // by the continuation of the last settle always finds a drain to start.
    this.drainActive = false;
  }

  private async runNext(): Promise<void> {
    const head = this.jobs[0]!;
    if (head.kind === 'barrier') {
      this.jobs.shift();
      if (this.writer.settled !== undefined) await this.writer.settled();
      try {
        await head.run();
        head.resolve();
      } catch (error) {
        head.reject(error);
      }
      return;
    }
    if (this.writer.beforeCut !== undefined) {
      await this.writer.beforeCut();
      // fail() during the pause emptied the queue; `head` is otherwise still first.
      if (this.failure !== undefined) return;
    }
    const count = this.writer.cut(head.appends);
    assert(
      Number.isInteger(count) && count >= 1 && count <= head.appends.length,
      () => `append queue: cut ${count} of a run of ${head.appends.length}`,
    );
    const group = head.appends.splice(0, count);
    if (head.appends.length === 0) this.jobs.shift();
    try {
      await this.writer.write(group);
    } catch (error) {
      for (const append of group) append.reject(error);
      if (this.writer.onWriteFailure === 'group') return;
      if (this.writer.onWriteFailure === 'store') this.failure ??= { error };
      this.rejectQueued(error);
    }
  }

  private rejectQueued(error: unknown): void {
    for (const job of this.jobs.splice(0)) {
      if (job.kind === 'barrier') job.reject(error);
      else for (const append of job.appends) append.reject(error);
    }
  }
}
