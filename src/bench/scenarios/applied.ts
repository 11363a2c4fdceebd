/**
 * The standbys of the latency scenario: for call → applied, one in-process Standby per
 * store of the setup follows the writer's log through handles of its own (a file
 * store's reader handle, which sees appends through file events as a standby process
 * on the same host would; a second etcd or Kafka client), applying into a KV state
 * machine whose every apply is timed (applied-tracker.ts). With etcd + Kafka there are
 * two, one following each store and fetching gaps from the other, so the report shows
 * what run-ahead gives an etcd follower and what a Kafka follower waits for.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname } from 'node:path';
import type { StoreConfig } from '../../config/types.js';
import { KvStateMachine } from '../../snapshot/state-machine.js';
import { Standby } from '../../standby/standby.js';
import { EtcdLogStore } from '../../stores/etcd/etcd-store.js';
import { FileLogStore } from '../../stores/file/file-store.js';
import { KafkaLogStore } from '../../stores/kafka/kafka-store.js';
import type { LogStore } from '../../stores/log-store.js';
import { AppliedTracker, TimedStateMachine, type StepToken } from '../applied-tracker.js';
import { REAL_CLOCK, type OpSchedule } from '../loops.js';
import type { BenchPlan } from '../plan.js';
import type { AppliedLatency } from '../results.js';
import type { OpenedStores, Setup } from '../targets.js';

/** How long a follower may take to see its source before the scenario gives up. */
const FOLLOW_TIMEOUT_MS = 30_000;

interface Follower {
  /** The store it follows: `file`, `etcd` or `kafka`. */
  readonly source: string;
  readonly tracker: AppliedTracker;
}

/** The followers of one case, driven step by step (one step per offered rate). */
export class Followers {
  private tokens: StepToken[] = [];

  constructor(
    private readonly followers: readonly Follower[],
    /** Stops the standbys and closes their handles (before the case's data is removed). */
    readonly stop: () => Promise<void>,
  ) {}

  /** A new offered rate begins. */
  step(): void {
    this.tokens = this.followers.map((f) => f.tracker.step());
  }

  /** The op scheduled as `schedule` was acknowledged at `seq`. */
  acked(seq: bigint, schedule: OpSchedule): void {
    this.followers.forEach((f, k) => f.tracker.acked(seq, schedule, this.tokens[k]!));
  }

  /** Ends the step (each follower given up to `drainMs` to apply what was acknowledged). */
  finish(drainMs: number): Promise<AppliedLatency[]> {
    return Promise.all(
      this.followers.map(async ({ source, tracker }) => {
        const s = await tracker.finish(drainMs);
        return {
          source,
          measuredOps: s.count,
          p50Ms: s.p50Ms,
          p99Ms: s.p99Ms,
          p999Ms: s.p999Ms,
          maxMs: s.maxMs,
          notAppliedOps: s.notApplied,
          untimedOps: s.untimed,
        };
      }),
    );
  }
}

/** Starts one follower per store of `setup`, on the log `opened` holds; resolves once each follows. */
export async function startFollowers(
  plan: BenchPlan,
  setup: Setup,
  opened: OpenedStores,
): Promise<Followers> {
  const readers: LogStore[] = [];
  const standbys: Standby[] = [];
  const stop = async () => {
    for (const standby of standbys) await standby.stop();
    for (const reader of readers) await reader.close();
  };
  try {
    for (const [index, config] of setup.stores.entries())
      readers.push(await openReader(config, opened.clusterId, opened.stores[index]!));
    const followers = readers.map((source, index): Follower => {
      const tracker = new AppliedTracker(REAL_CLOCK);
      const standby = new Standby({
        source,
        fetchStore: readers[(index + 1) % readers.length]!,
        stateMachine: new TimedStateMachine(new KvStateMachine(), (seq) => tracker.applied(seq)),
        compression: plan.compression,
      });
      standbys.push(standby);
      return { source: source.kind, tracker };
    });
    for (const standby of standbys) standby.start();
    for (const [index, standby] of standbys.entries())
      await untilFollowing(standby, followers[index]!.source);
    return new Followers(followers, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A handle of its own on the log `writerStore` writes (the same cluster id). */
async function openReader(config: StoreConfig, clusterId: string, writerStore: LogStore): Promise<LogStore> {
  switch (config.kind) {
    case 'file':
      if (!(writerStore instanceof FileLogStore))
        throw new Error('latency: a file setup without a file store');
      return FileLogStore.open({ dataDir: dirname(writerStore.dir), clusterId, mode: 'reader' });
    case 'etcd':
      return new EtcdLogStore({ hosts: config.hosts, clusterId, prefix: config.prefix });
    case 'kafka':
      return new KafkaLogStore({ brokers: config.brokers, clusterId, topicPrefix: config.topicPrefix });
  }
}

async function untilFollowing(standby: Standby, source: string): Promise<void> {
  const until = performance.now() + FOLLOW_TIMEOUT_MS;
  for (;;) {
    const { state, lastError } = standby.status;
    if (state === 'watching' || state === 'syncing') return;
    if (state === 'failed' || performance.now() > until)
      throw new Error(
        `latency: the standby following ${source} is ${state} after ${FOLLOW_TIMEOUT_MS} ms${lastError === undefined ? '' : `: ${lastError}`}`,
      );
    await sleep(10);
  }
}
