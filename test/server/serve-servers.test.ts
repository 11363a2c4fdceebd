/**
 * `oplog serve` on a real etcd and a real Kafka broker, as child processes over real
 * sockets: a primary writing both stores and a standby following Kafka (gaps from
 * etcd); kill -9 of the primary under load; the standby promoted over HTTP; every
 * acknowledged append readable on it. Then `auto`: two standbys campaign for the etcd
 * leader key when the primary dies, and one takes over by itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { AppendOutcomeUnknownError, OplogClient } from '../../src/client/oplog-client.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';
import { untilValue } from '../helpers/waiting.js';
import { runServe, type ServeProcess } from '../helpers/serve-process.js';

const until = <T>(what: string, probe: () => Promise<T | undefined>) => untilValue(what, probe, 60_000);

const put = (key: string, value: string) => ({ type: 'put', key, value: Buffer.from(value) });

/** Appends one entry at a time until stopped; what was acknowledged, and what is unknown. */
function load(client: OplogClient, prefix: string) {
  const acked: [bigint, string, string][] = [];
  const unknown: bigint[] = [];
  let stop = false;
  const done = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        const { seqs } = await client.append([put(`${prefix}${i % 40}`, `${prefix}-${i}`)]);
        acked.push([seqs[0]!, `${prefix}${i % 40}`, `${prefix}-${i}`]);
      } catch (error) {
        if (error instanceof AppendOutcomeUnknownError) unknown.push(...error.seqs);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  })();
  return {
    acked,
    unknown,
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

describeWithEtcd('oplog serve (etcd)', (etcdEndpoint) => {
  describeWithKafka('oplog serve (etcd + kafka)', (kafkaEndpoint) => {
    const stores = ['--store', `etcd://${etcdEndpoint}`, '--store', `kafka://${kafkaEndpoint}`];
    const dir = mkdtempSync(join(tmpdir(), 'oplog-serve-servers-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('kill -9 the primary under load, promote the standby over HTTP: nothing acknowledged lost', async () => {
      const cluster = `serve-${process.pid}-${Date.now()}`;
      const nodes: ServeProcess[] = [];
      try {
        const common = ['--cluster', cluster, ...stores, '--http', '127.0.0.1:0'];
        const primary = await runServe([
          ...common,
          '--role',
          'primary',
          '--node-id',
          'p',
          '--snapshot-dir',
          join(dir, 'p'),
        ]);
        nodes.push(primary);
        await primary.waitForLog((l) => l['msg'] === 'promoted: this node is the primary', 60_000);
        const standby = await runServe([
          ...common,
          '--role',
          'standby',
          '--node-id',
          's',
          '--snapshot-dir',
          join(dir, 's'),
        ]);
        nodes.push(standby);
        const status = (await new OplogClient({ urls: [standby.url] }).status()) as Record<string, unknown>;
        expect(status['role']).toBe('standby');

        const writer = load(new OplogClient({ urls: [primary.url], attempts: 1, timeoutMs: 5_000 }), 'k');
        await until('acknowledged appends', async () => (writer.acked.length >= 200 ? true : undefined));
        await primary.stop('SIGKILL');
        await writer.stop();

        const client = new OplogClient({ urls: [standby.url] });
        const epoch = await until('a promotion', () => client.promote());
        expect(epoch).toBeGreaterThan(1n);
        const latest = new Map<string, [bigint, string]>();
        for (const [seq, key, value] of writer.acked) latest.set(key, [seq, value]);
        const lastAcked = writer.acked.at(-1)![0];
        for (const [key, [seq, value]] of latest) {
          const read = await client.get(key, { minSeq: lastAcked });
          expect(read, `${key} acknowledged at ${seq}`).toBeDefined();
          // A later write to the key may be an unknown-outcome one that landed; never an older value.
          const got = Buffer.from(read!.value).toString();
          const index = Number(got.split('-')[1]);
          expect(index).toBeGreaterThanOrEqual(Number(value.split('-')[1]));
        }
        const { seqs } = await client.append(put('after', 'failover'));
        expect(seqs[0]! > lastAcked).toBe(true);

        // The whole history, from the promoted node's change stream: every acknowledged
        // value exactly once at its seq, every unknown one at most once, nothing else twice.
        const seen = new Map<string, bigint[]>();
        for await (const entry of client.watch(1n, { signal: AbortSignal.timeout(60_000) })) {
          const value = Buffer.from(entry.value).toString();
          seen.set(value, [...(seen.get(value) ?? []), entry.seq]);
          if (entry.seq === seqs[0]) break;
        }
        for (const [seq, , value] of writer.acked) expect(seen.get(value), value).toEqual([seq]);
        for (const [value, at] of seen) if (value !== 'failover') expect(at, value).toHaveLength(1);
      } finally {
        await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      }
    }, 180_000);

    it('role auto: when the primary dies a standby wins the leader key and writes', async () => {
      const cluster = `serve-auto-${process.pid}-${Date.now()}`;
      const nodes: ServeProcess[] = [];
      try {
        const leaseFile = join(dir, `${cluster}.json`);
        writeFileSync(leaseFile, JSON.stringify({ failover: { leaseTtlS: 2 } }));
        const common = ['--config', leaseFile, '--cluster', cluster, ...stores, '--http', '127.0.0.1:0'];
        const first = await runServe([
          ...common,
          '--role',
          'auto',
          '--node-id',
          'a1',
          '--snapshot-dir',
          join(dir, 'a1'),
        ]);
        nodes.push(first);
        const leader = await until('a leader', async () => {
          const s = await new OplogClient({ urls: [first.url] }).status();
          return s['writing'] === true ? s : undefined;
        });
        expect(leader['role']).toBe('auto');
        const second = await runServe([
          ...common,
          '--role',
          'auto',
          '--node-id',
          'a2',
          '--snapshot-dir',
          join(dir, 'a2'),
        ]);
        nodes.push(second);
        const { seqs } = await new OplogClient({ urls: [first.url] }).append(put('before', 'kill'));
        await new OplogClient({ urls: [second.url] }).get('before', { minSeq: seqs[0]! });
        await first.stop('SIGKILL');
        const promoted = await until('the second node writing', async () => {
          const s = await new OplogClient({ urls: [second.url] }).status();
          return s['writing'] === true ? s : undefined;
        });
        expect(BigInt(promoted['epoch'] as string)).toBeGreaterThan(BigInt(leader['epoch'] as string));
        const after = await new OplogClient({ urls: [second.url] }).append(put('after', 'kill'));
        expect(after.seqs[0]! > seqs[0]!).toBe(true);
        expect(
          Buffer.from((await new OplogClient({ urls: [second.url] }).get('before'))!.value).toString(),
        ).toBe('kill');
      } finally {
        await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      }
    }, 180_000);
  });
});
