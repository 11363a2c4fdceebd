/**
 * `oplog serve` on a real 3-member etcd cluster, as child processes over real sockets:
 * a primary and a standby with `--store etcd://a,b,c`, appends going on over HTTP, and
 * the etcd leader member kill -9'd in the middle of them. Writes resume after the
 * election within a bound; every acknowledged append is in the final log at its seq
 * and on the standby, every unknown one at most once, every failed one nowhere; the
 * standby keeps following to the primary's head. The killed member, started again on
 * its data dir, rejoins, catches up and the cluster is healthy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AppendOutcomeUnknownError, OplogClient, OplogHttpError } from '../../src/client/oplog-client.js';
import { loadZstd } from '../../src/compression/zstd.js';
import { decodeVerifiedRecord } from '../../src/core/record-codec.js';
import { seq } from '../../src/core/types.js';
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { runServe, type ServeProcess } from '../helpers/serve-process.js';
import { untilValue } from '../helpers/waiting.js';
import { EtcdCluster } from '../setup/etcd-cluster.js';
import { describeWithEtcd } from '../setup/servers.js';

/** Concurrent writers, and the most appends each makes (the load is bounded either way). */
const WRITERS = 4;
const APPENDS_PER_WRITER_MAX = 5_000;
/** Acknowledged appends before the kill, and after the first one acknowledged after it. */
const ACKS_BEFORE_KILL = 200;
const ACKS_AFTER_RESUME = 200;
/**
 * From the kill to an append sent after it being acknowledged. The election takes about
 * a second (election timeout 500 ms); an append a follower had forwarded to the dead
 * leader waits out the store's call deadline (5 s) before it is retried.
 */
const RESUME_MS_MAX = 15_000;

const until = <T>(what: string, probe: () => Promise<T | undefined>) => untilValue(what, probe, 60_000);
const put = (key: string, value: string) => ({ type: 'put', key, value: Buffer.from(value) });

interface Sent {
  readonly value: string;
  readonly sentAtMs: number;
  outcome?: 'ok' | 'unknown' | 'failed';
  seq?: bigint;
  ackedAtMs?: number;
}

/** WRITERS loops appending one entry each, until stopped or at their bound. */
function load(client: OplogClient) {
  const sent: Sent[] = [];
  const errors: string[] = [];
  let stopped = false;
  const writer = async (w: number) => {
    for (let i = 0; i < APPENDS_PER_WRITER_MAX && !stopped; i++) {
      const entry: Sent = { value: `w${w}-${i}`, sentAtMs: performance.now() };
      sent.push(entry);
      try {
        const { seqs } = await client.append(put(`k${i % 50}`, entry.value));
        Object.assign(entry, { outcome: 'ok', seq: seqs[0]!, ackedAtMs: performance.now() });
      } catch (error) {
        // Unknown: it may be in the log. A 503 saying "failed": provably not written.
        if (error instanceof AppendOutcomeUnknownError) entry.outcome = 'unknown';
        else if (error instanceof OplogHttpError && error.body['outcome'] === 'failed')
          entry.outcome = 'failed';
        else throw error;
        errors.push(String(error));
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const done = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  const acked = () => sent.filter((s) => s.outcome === 'ok');
  return {
    sent,
    errors,
    acked,
    done,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** The primary's failed etcd append attempts so far (`oplog_store_errors_total`, every code). */
async function storeErrors(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('oplog_store_errors_total{') && l.includes('store="etcd"'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describeWithEtcd('oplog serve on a 3-member etcd cluster', () => {
  let cluster: EtcdCluster;
  const dir = mkdtempSync(join(tmpdir(), 'oplog-etcd-cluster-'));
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('kill -9 the etcd leader during appends: writes resume, nothing acknowledged lost, the standby follows', async () => {
    const clusterId = `etcd-cluster-${process.pid}-${Date.now()}`;
    const nodes: ServeProcess[] = [];
    try {
      const common = ['--cluster', clusterId, '--store', cluster.storeUrl, '--http', '127.0.0.1:0'];
      const node = (role: string, id: string) =>
        runServe([...common, '--role', role, '--node-id', id, '--snapshot-dir', join(dir, id)]);
      const primary = await node('primary', 'p');
      nodes.push(primary);
      await primary.waitForLog((l) => l['msg'] === 'promoted: this node is the primary', 60_000);
      const standby = await node('standby', 's');
      nodes.push(standby);

      const writes = load(new OplogClient({ urls: [primary.url], attempts: 1, timeoutMs: 20_000 }));
      // A writer that throws (an answer that is neither ok, unknown nor failed) or runs
      // out of appends fails the wait at once.
      const ended = writes.done.then(() => {
        throw new Error('the writers ended before the test was done with them');
      });
      ended.catch(() => undefined); // once stop() ends them on purpose, nobody waits on it
      const waitFor = async (what: string, probe: () => boolean) => {
        await Promise.race([until(what, async () => (probe() ? true : undefined)), ended]);
      };
      await waitFor('acknowledged appends before the kill', () => writes.acked().length >= ACKS_BEFORE_KILL);

      const leader = await cluster.leader();
      const killedAtMs = performance.now();
      await leader.kill9();
      const sentAfterKill = () => writes.acked().filter((s) => s.sentAtMs > killedAtMs);
      await waitFor('an append sent after the kill acknowledged', () => sentAfterKill().length > 0);
      const resumedMs = Math.min(...sentAfterKill().map((s) => s.ackedAtMs!)) - killedAtMs;
      // With one member still down, the primary's appends go to the two that are up: not
      // one attempt fails (etcd3 used to send a third of them to the dead member).
      await cluster.leader();
      const errorsBefore = await storeErrors(primary.url);
      const ackedBefore = writes.acked().length;
      await waitFor(
        'appends after the election',
        () => writes.acked().length >= ackedBefore + ACKS_AFTER_RESUME,
      );
      const failedAttempts = (await storeErrors(primary.url)) - errorsBefore;
      await writes.stop();
      // The longest time no append was acknowledged, around the kill.
      const ackTimes = writes
        .acked()
        .map((s) => s.ackedAtMs!)
        .sort((a, b) => a - b);
      const stallMs = Math.max(...ackTimes.slice(1).map((t, i) => t - ackTimes[i]!));
      const newLeader = await cluster.leader();
      expect(newLeader).not.toBe(leader);
      console.log(
        `etcd leader ${leader.name} killed; ${newLeader.name} leads; an append sent after the kill was acknowledged ${Math.round(resumedMs)} ms after it; ` +
          `longest time without an acknowledgement ${Math.round(stallMs)} ms; ` +
          `${failedAttempts} failed etcd append attempts with the member down after the election; ` +
          `${writes.acked().length} ok, ${writes.sent.filter((s) => s.outcome === 'unknown').length} unknown, ` +
          `${writes.sent.filter((s) => s.outcome === 'failed').length} failed`,
      );
      expect(resumedMs).toBeLessThan(RESUME_MS_MAX);
      expect(stallMs).toBeLessThan(RESUME_MS_MAX);
      expect(failedAttempts).toBe(0);

      // The killed member back on its data dir: it rejoins as the same member.
      await leader.launch();
      await cluster.waitHealthy();
      const after = await new OplogClient({ urls: [primary.url] }).append(put('after', 'restart'));
      const headSeq = after.seqs[0]!;

      // The final log, read from the store: contiguous, each value where it was acknowledged.
      const compression = await loadZstd();
      const store = new EtcdLogStore({ hosts: cluster.endpoints, clusterId });
      const logged = new Map<string, bigint[]>();
      const latest = new Map<string, string>();
      let expectedSeq = 1n;
      for await (const record of store.read(seq(1n)))
        for (const entry of decodeVerifiedRecord(record, compression)) {
          expect(entry.seq).toBe(expectedSeq++);
          const value = Buffer.from(entry.value).toString();
          logged.set(value, [...(logged.get(value) ?? []), entry.seq]);
          latest.set(entry.key, value);
        }
      await store.close();
      expect(expectedSeq - 1n).toBe(headSeq);
      for (const s of writes.sent) {
        if (s.outcome === 'ok') expect(logged.get(s.value), s.value).toEqual([s.seq]);
        else if (s.outcome === 'unknown')
          expect(logged.get(s.value)?.length ?? 0, s.value).toBeLessThanOrEqual(1);
        else if (s.outcome === 'failed') expect(logged.get(s.value), s.value).toBeUndefined();
      }
      for (const [value, at] of logged) expect(at, value).toHaveLength(1);

      // The member that was killed holds all of it too.
      const alone = new EtcdLogStore({ hosts: leader.endpoint, clusterId });
      expect((await alone.head()).lastSeq).toBe(headSeq);
      await alone.close();

      // The standby followed through the election: applied to the head, nothing skipped,
      // and its change stream is the log, seq for seq.
      const standbyClient = new OplogClient({ urls: [standby.url] });
      const status = await until('the standby at the head', async () => {
        const s = await standbyClient.status();
        return BigInt(s['appliedSeq'] as string) === headSeq ? s : undefined;
      });
      expect(status['role']).toBe('standby');
      expect(status['divergent']).toBe(false);
      expect(status['skippedEntries']).toBe('0');
      const watched = new Map<string, bigint>();
      for await (const entry of standbyClient.watch(1n, { signal: AbortSignal.timeout(60_000) })) {
        watched.set(Buffer.from(entry.value).toString(), entry.seq);
        if (entry.seq === headSeq) break;
      }
      expect(watched.size).toBe(logged.size);
      for (const [value, [at]] of logged) expect(watched.get(value), value).toBe(at);
      for (const [key, value] of latest)
        expect(Buffer.from((await standbyClient.get(key, { minSeq: headSeq }))!.value).toString(), key).toBe(
          value,
        );
    } finally {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    }
  }, 240_000);
});
