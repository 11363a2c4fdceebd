/**
 * `GET /v1/watch` from before the node's ring, when the source store's copy of an old
 * record is damaged (found by the fault suite, chaos/: a flipped byte in an etcd value
 * left every watch from seq 1 on the etcd-following node cut with `backfill_failed`
 * at that record, for ever, though Kafka held a good copy and the node had applied it
 * from there). The backfill reads the damaged record from the other store: the stream
 * from seq 1 is whole, every seq once, in order, with the acknowledged values.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, expect, it } from 'vitest';
import { readWatch } from '../../chaos/watch-follower.js';
import type { WatchEvent } from '../../chaos/history.js';
import { OplogClient } from '../../src/client/oplog-client.js';
import { describeWithEtcd, describeWithKafka } from '../setup/servers.js';
import { untilValue } from '../helpers/waiting.js';
import { runServe, type ServeProcess } from '../helpers/serve-process.js';

/** More than the feed's ring (10,000 entries), so a watch from 1 reads the log. */
const ENTRIES = 10_500;

describeWithEtcd('watch backfill (etcd)', (etcdEndpoint) => {
  describeWithKafka('watch backfill (etcd + kafka)', (kafkaEndpoint) => {
    const dir = mkdtempSync(join(tmpdir(), 'oplog-watch-repair-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('a damaged record in the source is read from the other store: the stream from 1 is whole', async () => {
      const cluster = `watch-repair-${process.pid}-${Date.now()}`;
      const common = [
        '--cluster',
        cluster,
        '--store',
        `etcd://${etcdEndpoint}`,
        '--store',
        `kafka://${kafkaEndpoint}`,
        '--http',
        '127.0.0.1:0',
      ];
      const nodes: ServeProcess[] = [];
      try {
        const primary = await runServe([...common, '--role', 'primary', '--snapshot-dir', join(dir, 'p')]);
        nodes.push(primary);
        await primary.waitForLog((l) => l['msg'] === 'promoted: this node is the primary', 60_000);
        const client = new OplogClient({ urls: [primary.url], timeoutMs: 30_000 });
        let last = 0n;
        for (let from = 0; from < ENTRIES; from += 500) {
          const ops = Array.from({ length: 500 }, (_, i) => ({
            type: 'put',
            key: `k${(from + i) % 50}`,
            value: Buffer.from(`v${from + i}`),
          }));
          last = (await client.append(ops)).seqs.at(-1)!;
        }

        // Flip a body byte of the etcd record holding seq 5.
        const etcd = new Etcd3({ hosts: `http://${etcdEndpoint}` });
        const prefix = `/oplog/${cluster}/log/`;
        const keys = (await etcd.getAll().prefix(prefix).keys()).sort();
        const key = keys.filter((k) => BigInt(k.slice(prefix.length)) <= 5n).at(-1)!;
        const bytes = Buffer.from((await etcd.get(key).buffer())!);
        bytes[bytes.length - 3]! ^= 0x20;
        await etcd.put(key).value(bytes);
        etcd.close();

        const standby = await runServe([
          ...common,
          '--role',
          'standby',
          '--source',
          'etcd',
          '--snapshot-dir',
          join(dir, 's'),
        ]);
        nodes.push(standby);
        const status = await untilValue(
          'the standby caught up',
          async () => {
            const s = await new OplogClient({ urls: [standby.url] }).status();
            return BigInt(s['appliedSeq'] as string) >= last ? s : undefined;
          },
          120_000,
        );
        expect(status['corruptRecords']).toBeGreaterThan(0);

        const events: WatchEvent[] = [];
        await readWatch(standby.url, 1n, events, {
          signal: AbortSignal.timeout(60_000),
          idleMs: 30_000,
          until: (e) => e.kind !== 'entry' || e.seq >= last,
        });
        expect(events.filter((e) => e.kind !== 'entry')).toEqual([]);
        const seqs = events.flatMap((e) => (e.kind === 'entry' ? [e.seq] : []));
        expect(seqs).toEqual(Array.from({ length: Number(last) }, (_, i) => BigInt(i + 1)));
        const at5 = events.find((e) => e.kind === 'entry' && e.seq === 5n);
        expect(at5).toMatchObject({ key: 'k4', value: 'v4' });
      } finally {
        await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      }
    }, 300_000);
  });
});
