/**
 * What `oplog serve` logs, read from real child processes on the file store (no
 * servers): every JSON line carries `cluster`, `node` and the node's `role` (and its
 * `epoch` while it writes), lines about entries carry their seqs; a warning a live node
 * repeats (a second `--role primary` on a log whose writer lock a live primary holds:
 * its promotion is refused every ~2 s) is folded, the next line carrying the count, and
 * what is still folded is logged on SIGTERM; `--log-pretty` writes lines for a person
 * (not JSON) that still carry the message, the node and its role.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OplogClient } from '../../src/client/oplog-client.js';
import { runServe, type ServeProcess } from '../helpers/serve-process.js';

const REFUSED = 'promotion at start failed; retrying';

describe('oplog serve logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oplog-serve-logs-'));
  const dataDir = join(dir, 'data');
  const started: ServeProcess[] = [];
  let primary: ServeProcess;
  /** Second primaries of p1's log, each with its own warning interval; a pretty standby. */
  let folding: ServeProcess;
  let foldingUntilStop: ServeProcess;
  let pretty: ServeProcess;
  const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
  const text = (line: Record<string, unknown>) => String(line['msg']).replace(ansi, '');

  /** A config file for node `name`: the shared log, its own snapshots, `logging` as given. */
  function config(name: string, logging: object = {}): string {
    const path = join(dir, `${name}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        clusterId: 'logs',
        stores: [{ kind: 'file', dataDir }],
        snapshots: { dir: join(dir, `snapshots-${name}`) },
        checkpoints: { everyEntries: 5 },
        logging,
      }),
    );
    return path;
  }

  async function serve(
    name: string,
    args: string[],
    logging: object = {},
    urlFrom?: (line: Record<string, unknown>) => string | undefined,
  ): Promise<ServeProcess> {
    const node = await runServe(
      ['--config', config(name, logging), '--http', '127.0.0.1:0', '--node-id', name, ...args],
      {},
      urlFrom,
    );
    started.push(node);
    return node;
  }

  beforeAll(async () => {
    primary = await serve('p1', ['--role', 'primary', '--log-level', 'debug']);
    await primary.waitForLog((l) => l['msg'] === 'promoted: this node is the primary');
    // The file log's writer lock is p1's: p2's and p3's promotions are refused, and
    // retried every ≤ 2 s. p3's interval is longer than the test: only its stop can
    // report what it folded.
    [folding, foldingUntilStop, pretty] = await Promise.all([
      serve('p2', ['--role', 'primary'], { warningIntervalMs: 1_000 }),
      serve('p3', ['--role', 'primary'], { warningIntervalMs: 600_000 }),
      serve('s1', ['--role', 'standby', '--log-pretty'], {}, (line) =>
        line['unparsed'] === true ? /: listening \{"url":"([^"]+)"/.exec(text(line))?.[1] : undefined,
      ),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  it('every JSON line carries cluster, node and role; a writing node its epoch; lines about entries their seqs', async () => {
    const client = new OplogClient({ urls: [primary.url] });
    for (let i = 0; i < 12; i++) await client.append({ type: 'put', key: `k${i}`, value: Buffer.from('v') });
    const checkpoint = await primary.waitForLog((l) => l['msg'] === 'checkpoint appended');
    expect(primary.logs.length).toBeGreaterThan(5);
    for (const line of primary.logs) {
      expect(line['unparsed'], JSON.stringify(line)).toBeUndefined();
      expect(line, JSON.stringify(line)).toMatchObject({ cluster: 'logs', node: 'p1' });
      expect(['primary', 'standby'], JSON.stringify(line)).toContain(line['role']);
    }
    const promoted = primary.logs.find((l) => l['msg'] === 'promoted: this node is the primary')!;
    expect(promoted).toMatchObject({ role: 'primary', epoch: expect.stringMatching(/^\d+$/) });
    // Checkpoints are every 5 seqs: the first digest is of seq 5; its entry comes after
    // it (seq 6, or later when the client's next append got there first).
    expect(checkpoint).toMatchObject({ role: 'primary', epoch: promoted['epoch'], atSeq: '5' });
    expect(BigInt(checkpoint['seq'] as string)).toBeGreaterThan(5n);
    expect(primary.logs[0]).toMatchObject({ role: 'standby', msg: 'state changed', to: 'connecting' });
  });

  it('a warning a live node repeats is folded: one line per interval, the next one with the count', async () => {
    const counted = await folding.waitForLog((l) => l['msg'] === REFUSED && typeof l['folded'] === 'number');
    expect(counted).toMatchObject({ level: 40, cluster: 'logs', node: 'p2', role: 'standby' });
    expect(counted['folded']).toBeGreaterThanOrEqual(1);
    expect(String(counted['cause'])).toContain('LockedError');
    // Fewer lines than refusals: each refusal moves the state to promoting and back.
    const refusals = folding.logs.filter((l) => l['msg'] === 'state changed' && l['to'] === 'promoting');
    const lines = folding.logs.filter((l) => l['msg'] === REFUSED);
    const folded = lines.reduce((sum, l) => sum + ((l['folded'] as number | undefined) ?? 0), 0);
    expect(lines.length).toBeLessThan(refusals.length);
    // Every refusal is on a line or counted (a summary line repeats a counted one).
    expect(lines.length + folded).toBeGreaterThanOrEqual(refusals.length - 1);
    expect(await folding.stop()).toBe(0);
  });

  it('what is still folded is logged on SIGTERM, before the node says it stopped', async () => {
    const node = foldingUntilStop;
    await node.waitForLog(
      () =>
        node.logs.filter((l) => l['msg'] === 'state changed' && l['event'] === 'promotion_aborted').length >=
        3,
    );
    const before = node.logs.filter((l) => l['msg'] === REFUSED);
    expect(before).toHaveLength(1);
    expect(before[0]!['folded']).toBeUndefined();
    expect(await node.stop()).toBe(0);
    const after = node.logs.filter((l) => l['msg'] === REFUSED);
    expect(after).toHaveLength(2);
    expect(after[1]!['folded']).toBeGreaterThanOrEqual(2);
    expect(node.logs.indexOf(after[1]!)).toBeLessThan(node.logs.findIndex((l) => l['msg'] === 'stopped'));
  });

  it('--log-pretty: lines for a person, not JSON, with the message, node and role', async () => {
    const status = (await (await fetch(`${pretty.url}/v1/status`)).json()) as Record<string, unknown>;
    expect(status['nodeId']).toBe('s1');
    await pretty.waitForLog((l) => /"to":"watching"/.test(text(l)));
    expect(await pretty.stop()).toBe(0);
    const lines = pretty.logs.map(text);
    expect(lines.length).toBeGreaterThan(3);
    for (const line of pretty.logs) expect(line['unparsed'], text(line)).toBe(true);
    for (const line of lines)
      expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] (DEBUG|INFO|WARN|ERROR): logs\/s1 /);
    expect(lines).toContainEqual(expect.stringMatching(/ INFO: logs\/s1 standby: listening \{"url":"http:/));
    expect(lines).toContainEqual(expect.stringMatching(/ INFO: logs\/s1 standby: stopped$/));
  });
});
