/**
 * `oplog serve` as a user meets it, on the embedded file store (no servers): a primary
 * and a standby as child processes on one data directory, driven over real sockets
 * with the package's OplogClient and plain fetch. Appends, causal reads on the
 * standby, a watch resumed by seq, promotion and its refusals, bootstrap of an empty
 * standby from a peer's snapshot, SIGTERM with nothing acknowledged lost, a checkpoint
 * mismatch making a standby divergent, and the bad-input matrix with nothing written.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppendOutcomeUnknownError, OplogClient, OplogHttpError } from '../../src/client/oplog-client.js';
import { loadZstd } from '../../src/compression/zstd.js';
import { FileSnapshotStore } from '../../src/snapshot/snapshot-store.js';
import { KvStateMachine } from '../../src/snapshot/state-machine.js';
import { untilValue } from '../helpers/waiting.js';
import { runServe, type ServeProcess } from '../helpers/serve-process.js';

const put = (key: string, value: string) => ({ type: 'put', key, value: Buffer.from(value) });

function configFile(dir: string, name: string, config: object): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

async function post(url: string, path: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

/**
 * POST through curl, which reports a response that arrives while the body is still
 * being sent: a server refusing an oversized body answers 413 at once and closes, and
 * fetch may see only the broken pipe.
 */
async function postEarly(url: string, path: string, body: string, headers: Record<string, string>) {
  const bodyDir = mkdtempSync(join(tmpdir(), 'oplog-body-'));
  const file = join(bodyDir, 'body.json');
  writeFileSync(file, body);
  const args = ['-s', '-X', 'POST', '-H', 'content-type: application/json', '--data-binary', `@${file}`];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  const out = execFileSync('curl', [...args, '-w', '\n%{http_code}', `${url}${path}`]).toString();
  rmSync(bodyDir, { recursive: true, force: true });
  const at = out.lastIndexOf('\n');
  return { status: Number(out.slice(at + 1)), body: JSON.parse(out.slice(0, at)) as Record<string, unknown> };
}

/** The seq a fresh append gets: one past everything written before it. */
async function sentinel(url: string, token: string): Promise<bigint> {
  const { seqs } = await new OplogClient({ urls: [url], token }).append({
    type: 'put',
    key: 'sentinel',
    value: Buffer.from('s'),
  });
  return seqs[0]!;
}

async function status(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${url}/v1/status`)).json()) as Record<string, unknown>;
}

describe('oplog serve on the file store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oplog-serve-'));
  const dataDir = join(dir, 'data');
  const token = 'serve-test-token';
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  let primary: ServeProcess;
  let standby: ServeProcess;
  const extra: ServeProcess[] = [];
  const common = (name: string) =>
    configFile(dir, name, {
      clusterId: 'served',
      stores: [{ kind: 'file', dataDir }],
      snapshots: { dir: join(dir, `snapshots-${name}`), everyEntries: 40, keep: 2 },
      checkpoints: { everyEntries: 25 },
    });

  beforeAll(async () => {
    primary = await runServe([
      '--config',
      common('primary'),
      '--role',
      'primary',
      '--http',
      '127.0.0.1:0',
      '--node-id',
      'p1',
      '--token-file',
      tokenFile,
    ]);
    await primary.waitForLog((l) => l['msg'] === 'promoted: this node is the primary');
    standby = await runServe([
      '--config',
      common('standby'),
      '--role',
      'standby',
      '--http',
      '127.0.0.1:0',
      '--node-id',
      's1',
      '--token-file',
      tokenFile,
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([primary, standby, ...extra].map((p) => p?.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends on the primary and reads them causally on the standby', async () => {
    const client = new OplogClient({ urls: [standby.url, primary.url], token });
    const { seqs } = await client.append([put('a', 'one'), put('b', 'two')]);
    expect(seqs).toHaveLength(2);
    expect(seqs[1]! - seqs[0]!).toBe(1n);
    const read = await new OplogClient({ urls: [standby.url] }).get('b', { minSeq: seqs[1]! });
    expect(Buffer.from(read!.value).toString()).toBe('two');
    expect(read!.appliedSeq).toBeGreaterThanOrEqual(seqs[1]!);
    // A read below what is applied answers at once; one above waits, then 503 with the applied seq.
    const response = await fetch(`${standby.url}/v1/kv/b?minSeq=${seqs[1]! + 1000n}&waitMs=100`);
    expect(response.status).toBe(503);
    const refused = (await response.json()) as Record<string, unknown>;
    expect(refused['code']).toBe('OPLOG_NOT_APPLIED');
    expect(BigInt(refused['appliedSeq'] as string)).toBeGreaterThanOrEqual(seqs[1]!);
    // The header is read when the answer goes out, at or after the body's applied seq.
    expect(BigInt(response.headers.get('oplog-applied-seq')!)).toBeGreaterThanOrEqual(
      BigInt(refused['appliedSeq'] as string),
    );
    expect(await new OplogClient({ urls: [standby.url] }).get('missing')).toBeUndefined();
  });

  it('serves Prometheus metrics: the writer on the primary, the follower on both', async () => {
    const names = (text: string) => new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const onPrimary = names(await (await fetch(`${primary.url}/metrics`)).text());
    const onStandby = names(await (await fetch(`${standby.url}/metrics`)).text());
    const follower = [
      'oplog_head_seq',
      'oplog_applied_seq',
      'oplog_replication_lag_entries',
      'oplog_replication_lag_seconds',
      'oplog_pending_entries',
      'oplog_pending_bytes',
      'oplog_state',
      'oplog_is_primary',
      'oplog_divergent',
      'oplog_epoch',
      'oplog_gaps_total',
      'oplog_checksum_failures_total',
      'oplog_duplicates_dropped_total',
      'oplog_checkpoint_mismatches_total',
      'oplog_build_info',
    ];
    const writer = [
      'oplog_appends_total',
      'oplog_append_duration_seconds',
      'oplog_record_entries',
      'oplog_record_bytes',
      'oplog_store_append_duration_seconds',
    ];
    for (const name of [...follower, ...writer]) expect(onPrimary, name).toContain(name);
    for (const name of follower) expect(onStandby, name).toContain(name);
    const text = await (await fetch(`${standby.url}/metrics`)).text();
    expect(text).toMatch(/^oplog_state\{state="watching"\} 1$/m);
    expect(text).toMatch(/^oplog_is_primary 0$/m);
    expect(text).toMatch(/^oplog_checkpoint_mismatches_total 0$/m);
    expect(await (await fetch(`${primary.url}/metrics`)).text()).toMatch(/^oplog_is_primary 1$/m);
  });

  it('oplog status shows both nodes, once as a table and as JSON, and exits 1 for a node that does not answer', async () => {
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [
        '--import',
        'tsx',
        join(import.meta.dirname, '../../src/cli/main.ts'),
        'status',
        ...args,
      ]).toString();
    const documents = JSON.parse(cli('--once', '--json', primary.url, standby.url)) as Record<
      string,
      unknown
    >[];
    expect(documents.map((d) => [d['nodeId'], d['role'], d['state']])).toEqual([
      ['p1', 'primary', 'primary'],
      ['s1', 'standby', 'watching'],
    ]);
    const table = cli('--once', primary.url, standby.url).split('\n');
    expect(table[0]).toMatch(/^node\s+role\s+state\s+epoch\s+head\s+applied\s+lag/);
    expect(table[1]).toMatch(/^p1\s+primary\*\s+primary\s/);
    expect(table[2]).toMatch(/^s1\s+standby\s+watching\s/);
    const dead = `http://127.0.0.1:${new URL(standby.url).port === '1' ? 2 : 9}`;
    let failed: { status: number; stdout: Buffer } | undefined;
    try {
      cli('--once', primary.url, dead);
    } catch (error) {
      failed = error as { status: number; stdout: Buffer };
    }
    expect(failed?.status).toBe(1);
    expect(failed?.stdout.toString()).toMatch(/unreachable/);
  });

  it('answers an append to the standby with 409 and the primary epoch, and writes nothing', async () => {
    const before = await status(primary.url);
    const first = await sentinel(primary.url, token);
    const answer = await post(
      standby.url,
      '/v1/append',
      JSON.stringify({ type: 'put', key: 'x', value: 'eA==' }),
      {
        authorization: `Bearer ${token}`,
      },
    );
    expect(answer.status).toBe(409);
    expect(answer.body['code']).toBe('OPLOG_NOT_PRIMARY');
    expect(answer.body['primaryEpoch']).toBe(before['epoch']);
    expect(await sentinel(primary.url, token)).toBe(first + 1n);
  });

  it('refuses every bad request with its typed 4xx and writes nothing', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const cases: [string, string, Record<string, string>, number, string, string?][] = [
      ['malformed JSON', '{"type":', auth, 400, 'OPLOG_MALFORMED_REQUEST'],
      ['wrong type', '{"type":5,"key":"k","value":""}', auth, 400, 'OPLOG_INVALID_INPUT', 'type'],
      [
        'unknown field',
        '{"type":"put","key":"k","value":"","ttl":3}',
        auth,
        400,
        'OPLOG_INVALID_INPUT',
        'ttl',
      ],
      ['empty entries', '{"entries":[]}', auth, 400, 'OPLOG_INVALID_INPUT', 'entries'],
      ['not base64', '{"type":"put","key":"k","value":"a$b="}', auth, 400, 'OPLOG_INVALID_INPUT', 'value'],
      [
        'base64 without padding',
        '{"type":"put","key":"k","value":"YQ"}',
        auth,
        400,
        'OPLOG_INVALID_INPUT',
        'value',
      ],
      ['put without value', '{"type":"put","key":"k"}', auth, 400, 'OPLOG_INVALID_INPUT', 'value'],
      [
        'reserved type',
        '{"type":"checkpoint","key":"k","value":""}',
        auth,
        400,
        'OPLOG_INVALID_INPUT',
        'type',
      ],
      ['reserved prefix', '{"type":"oplog.promote","key":"k"}', auth, 400, 'OPLOG_INVALID_INPUT', 'type'],
      [
        'key over 4096 bytes',
        JSON.stringify({ type: 'put', key: 'é'.repeat(2049), value: '' }),
        auth,
        413,
        'OPLOG_TOO_LARGE',
      ],
      [
        'a bad entry among good',
        JSON.stringify({
          entries: [
            { type: 'put', key: 'ok', value: 'YQ==' },
            { type: 'put', key: 'bad', value: '%%' },
          ],
        }),
        auth,
        400,
        'OPLOG_INVALID_INPUT',
        'entries/1/value',
      ],
      [
        'value over the cap',
        JSON.stringify({ type: 'put', key: 'k', value: Buffer.alloc(917_340).toString('base64') }),
        auth,
        413,
        'OPLOG_TOO_LARGE',
        'value',
      ],
      [
        'body over the limit',
        JSON.stringify({ type: 'put', key: 'k', value: 'A'.repeat(9 * 1024 * 1024) }),
        auth,
        413,
        'OPLOG_BODY_TOO_LARGE',
      ],
      ['no token', '{"type":"put","key":"k","value":"YQ=="}', {}, 401, 'OPLOG_UNAUTHORIZED'],
      [
        'wrong token',
        '{"type":"put","key":"k","value":"YQ=="}',
        { authorization: 'Bearer nope' },
        401,
        'OPLOG_UNAUTHORIZED',
      ],
    ];
    const first = await sentinel(primary.url, token);
    for (const [what, body, headers, code, errorCode, field] of cases) {
      const answer = await (body.length > 8 * 1024 * 1024 ? postEarly : post)(
        primary.url,
        '/v1/append',
        body,
        headers,
      );
      expect({ what, status: answer.status, code: answer.body['code'] }).toEqual({
        what,
        status: code,
        code: errorCode,
      });
      expect(typeof answer.body['message']).toBe('string');
      if (field !== undefined) expect(answer.body['field']).toBe(field);
    }
    for (const query of ['minSeq=abc', 'minSeq=-1', 'minSeq=18446744073709551616', 'minSeq=1.5'])
      expect((await fetch(`${primary.url}/v1/kv/a?${query}`)).status).toBe(400);
    expect((await fetch(`${primary.url}/v1/watch?fromSeq=x`)).status).toBe(400);
    // Guarded reads and promotions: no token or a wrong one is 401.
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${token}` }]) {
      expect((await fetch(`${primary.url}/v1/snapshot`, { headers })).status).toBe(401);
      expect((await post(standby.url, '/v1/promote', '{}', headers)).status).toBe(401);
    }
    // Nothing above was written: the next append is the next seq.
    expect(await sentinel(primary.url, token)).toBe(first + 1n);
  });

  it('reads a key of 4096 UTF-8 bytes back by its URL-encoded path', async () => {
    const key = `k/${'é'.repeat(2047)}`;
    const { seqs } = await new OplogClient({ urls: [primary.url], token }).append(put(key, 'long'));
    const read = await new OplogClient({ urls: [standby.url] }).get(key, { minSeq: seqs[0]! });
    expect(Buffer.from(read!.value).toString()).toBe('long');
  });

  it('streams applied entries and resumes a watch by seq without a gap or a repeat', async () => {
    const client = new OplogClient({ urls: [primary.url], token });
    const { seqs } = await client.append(Array.from({ length: 30 }, (_, i) => put(`w${i}`, `v${i}`)));
    const from = seqs[0]!;
    const watcher = new OplogClient({ urls: [standby.url] });
    const abort = new AbortController();
    const seen: bigint[] = [];
    for await (const entry of watcher.watch(from, { signal: abort.signal })) {
      seen.push(entry.seq);
      if (entry.seq === from + 9n) break;
    }
    // A second watch from where the first stopped picks up at the next seq.
    for await (const entry of watcher.watch(from + 10n, { signal: abort.signal })) {
      seen.push(entry.seq);
      if (entry.seq === seqs.at(-1)) break;
    }
    abort.abort();
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => from + BigInt(i)));
  });

  it('refuses promotions with the named reasons, over 409', async () => {
    const onPrimary = await post(primary.url, '/v1/promote', '{}', { authorization: `Bearer ${token}` });
    expect(onPrimary.status).toBe(409);
    // A primary a moment behind its own writes may also be not_caught_up.
    expect(onPrimary.body['reasons']).toContain('not_a_standby');
    const badBody = await post(standby.url, '/v1/promote', '{"force":"yes"}', {
      authorization: `Bearer ${token}`,
    });
    expect(badBody.status).toBe(400);
    expect(badBody.body['field']).toBe('force');
    const noToken = await post(standby.url, '/v1/promote', '{}');
    expect(noToken.status).toBe(401);
  });

  it('bootstraps an empty standby from a peer snapshot, then follows', async () => {
    const client = new OplogClient({ urls: [primary.url], token });
    await client.append(Array.from({ length: 50 }, (_, i) => put(`s${i}`, `v${i}`)));
    // The primary takes a snapshot every 40 entries; wait until it has one.
    await untilValue('a snapshot on the primary', async () => {
      const s = await status(primary.url);
      return BigInt(s['snapshotSeq'] as string) > 0n ? s : undefined;
    });
    const fresh = await runServe([
      '--config',
      common('fresh'),
      '--role',
      'standby',
      '--http',
      '127.0.0.1:0',
      '--node-id',
      'fresh',
      '--peer',
      primary.url,
      '--token-file',
      tokenFile,
    ]);
    extra.push(fresh);
    const installed = await fresh.waitForLog((l) => l['msg'] === 'snapshot installed');
    expect(installed['source']).toBe(primary.url);
    const { seqs } = await client.append(put('after-bootstrap', 'yes'));
    const read = await new OplogClient({ urls: [fresh.url] }).get('after-bootstrap', { minSeq: seqs[0]! });
    expect(Buffer.from(read!.value).toString()).toBe('yes');
    expect(Buffer.from((await new OplogClient({ urls: [fresh.url] }).get('s3'))!.value).toString()).toBe(
      'v3',
    );
  });

  it('makes a standby divergent when a checkpoint disagrees with its state', async () => {
    // A standby whose local snapshot holds one key the log never wrote (a bad
    // snapshot, self-consistent: its checksums and state hash match its bytes).
    const compression = await loadZstd();
    const headSeq = BigInt((await status(primary.url))['appliedSeq'] as string);
    const source = new OplogClient({ urls: [standby.url] });
    await source.get('a', { minSeq: headSeq });
    const snapshotDir = join(dir, 'snapshots-tampered');
    const kv = new KvStateMachine();
    const applied: { seq: bigint; ts: number; epoch: bigint }[] = [];
    for await (const entry of source.watch(1n, { signal: AbortSignal.timeout(20_000) })) {
      kv.apply({ ...entry, seq: entry.seq as never, epoch: entry.epoch as never, checksum: 0n });
      applied.push(entry);
      if (entry.seq === headSeq) break;
    }
    kv.apply({
      type: 'put',
      key: 'never-written',
      value: Buffer.from('!'),
      seq: 0n as never,
      epoch: 0n as never,
      ts: 0,
      checksum: 0n,
    });
    const last = applied.at(-1)!;
    await new FileSnapshotStore({ dataDir: snapshotDir, clusterId: 'served' }, compression).save({
      lastSeq: last.seq,
      epoch: last.epoch,
      lastEntryTs: last.ts,
      image: kv.snapshot(),
      stateHash: kv.hash(),
    });
    const tampered = await runServe([
      '--config',
      configFile(dir, 'tampered', {
        clusterId: 'served',
        stores: [{ kind: 'file', dataDir }],
        snapshots: { dir: snapshotDir, everyEntries: 0, keep: 2 },
        checkpoints: { everyEntries: 25 },
      }),
      '--role',
      'standby',
      '--http',
      '127.0.0.1:0',
      '--node-id',
      'tampered',
      '--token-file',
      tokenFile,
    ]);
    extra.push(tampered);
    await tampered.waitForLog((l) => l['msg'] === 'snapshot installed');
    // Enough appends for the primary to pass the next checkpoint.
    await new OplogClient({ urls: [primary.url], token }).append(
      Array.from({ length: 60 }, (_, i) => put(`c${i}`, 'x')),
    );
    const mismatch = await tampered.waitForLog(
      (l) => l['msg'] === 'checkpoint mismatch: this node is divergent',
    );
    expect(mismatch['expected']).not.toBe(mismatch['found']);
    const s = await status(tampered.url);
    expect(s['divergent']).toBe(true);
    expect((s['checkpoints'] as Record<string, unknown>)['mismatch']).not.toBeNull();
    const ready = await fetch(`${tampered.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as Record<string, unknown>)['reason']).toBe('divergent');
    const refused = await post(tampered.url, '/v1/promote', '{}', { authorization: `Bearer ${token}` });
    expect(refused.status).toBe(409);
    expect(refused.body['reasons']).toContain('divergent');
    const metricsText = await (await fetch(`${tampered.url}/metrics`)).text();
    expect(Number(/^oplog_checkpoint_mismatches_total (\d+)$/m.exec(metricsText)?.[1])).toBeGreaterThan(0);
    expect(metricsText).toMatch(/^oplog_divergent 1$/m);
    // The healthy standby checked the same checkpoints and agrees with the primary.
    const healthy = await status(standby.url);
    expect(healthy['divergent']).toBe(false);
    expect(((healthy['checkpoints'] as Record<string, unknown>)['checked'] as number) > 0).toBe(true);
    const healthyText = await (await fetch(`${standby.url}/metrics`)).text();
    expect(healthyText).toMatch(/^oplog_checkpoint_mismatches_total 0$/m);
    expect(healthyText).toMatch(/^oplog_divergent 0$/m);
  });

  it('serves HTTPS when given a certificate and key, and refuses a second node on the same snapshot directory', async () => {
    const key = join(dir, 'tls-key.pem');
    const cert = join(dir, 'tls-cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const tls = await runServe(
      [
        '--config',
        configFile(dir, 'tls', {
          clusterId: 'served',
          stores: [{ kind: 'file', dataDir }],
          snapshots: { dir: join(dir, 'snapshots-tls') },
          server: { tls: { certFile: cert, keyFile: key } },
        }),
        '--role',
        'standby',
        '--http',
        '127.0.0.1:0',
        '--node-id',
        'tls',
      ],
      { NODE_TLS_REJECT_UNAUTHORIZED: '0' },
    );
    extra.push(tls);
    expect(tls.url).toMatch(/^https:\/\//);
    const body = execFileSync('curl', ['-sk', `${tls.url}/healthz`]).toString();
    expect(JSON.parse(body)).toEqual({ ok: true });
    // The same snapshot directory as the running TLS node: refused, exit 2, naming it.
    const second = await runServe([
      '--config',
      configFile(dir, 'tls2', {
        clusterId: 'served',
        stores: [{ kind: 'file', dataDir }],
        snapshots: { dir: join(dir, 'snapshots-tls') },
      }),
      '--role',
      'standby',
      '--http',
      '127.0.0.1:0',
    ]).then(
      () => 'started',
      (error: Error) => error.message,
    );
    expect(second).toMatch(/exited \(2\) before listening.*snapshots\.dir.*another live node uses it/);
  });

  it('drains on SIGTERM: every acknowledged append survives, and the standby takes over', async () => {
    const client = new OplogClient({ urls: [primary.url], token, attempts: 1 });
    const acked: [bigint, string][] = [];
    const unknown: bigint[] = [];
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const { seqs } = await client.append(put(`t${i}`, `v${i}`));
          acked.push([seqs[0]!, `t${i}`]);
        } catch (error) {
          // Refused (503 while closing, connection refused after exit) wrote nothing.
          if (error instanceof AppendOutcomeUnknownError) unknown.push(...error.seqs);
          else if (!(error instanceof OplogHttpError || error instanceof TypeError)) throw error;
          if (primary.child.exitCode !== null) break;
        }
      }
    })();
    await untilValue('some acknowledged appends', async () => (acked.length >= 20 ? true : undefined));
    const code = await primary.stop('SIGTERM');
    stop = true;
    await load;
    expect(code).toBe(0);
    expect(primary.logs.some((l) => l['msg'] === 'stopped')).toBe(true);
    const epoch = await new OplogClient({ urls: [standby.url], token }).promote();
    expect(epoch).toBeGreaterThan(1n);
    const reader = new OplogClient({ urls: [standby.url] });
    for (const [seq, key] of acked) {
      const read = await reader.get(key, { minSeq: seq });
      expect(read, `acknowledged ${key} at seq ${seq}`).toBeDefined();
    }
    const { seqs } = await new OplogClient({ urls: [standby.url], token }).append(
      put('after-failover', 'ok'),
    );
    expect(seqs[0]! > acked.at(-1)![0]).toBe(true);
  });
});
