/**
 * Appends over HTTP (issue 14): `oplog serve --role primary` on the file store, in a
 * child process, driven by 1, 16, 64 and 256 concurrent keep-alive clients sending
 * single-entry and 100-entry bodies of 512-byte values. Baselines in the same run:
 *
 * - **bare**: a node:http server in a child process that reads each request body and
 *   answers a fixed `{"seqs":[…]}` without parsing or writing anything — what HTTP
 *   itself costs on this machine (target: serve ≥ 0.5× its requests/s, single entries,
 *   64 clients);
 * - **library**: the PrimaryWriter on a file store in this process with the same
 *   number of concurrent callers and the same entries per call — what the log costs
 *   without HTTP (target: serve ≥ 0.8× its entries/s with 100-entry bodies).
 *
 * The three are interleaved in short slices over several rounds and each ratio is the
 * median of its per-round ratios: this 2-core machine is shared and noisy. The client
 * runs in this process: on 2 cores it competes with the server for CPU, for serve and
 * bare alike. Run: npm run bench:http
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeZstd } from '../src/compression/zstd.js';
import type { Op } from '../src/core/types.js';
import { PrimaryWriter } from '../src/primary/primary-writer.js';
import { FileLogStore } from '../src/stores/file/file-store.js';
import { fmt, machine, table } from './harness.js';
import { workloadValue } from './workload.js';

const repo = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(process.env['OPLOG_BENCH_DIR'] ?? tmpdir(), 'oplog-bench-http-'));
const ROUNDS = Number(process.env['OPLOG_BENCH_ROUNDS'] ?? 3);
const SLICE_MS = Number(process.env['OPLOG_BENCH_SLICE_MS'] ?? 1500);
const CLIENTS = [1, 16, 64, 256];
const BODIES = [1, 100];

function ops(count: number, offset: number): Op[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'put',
    key: `users/${(offset + i) % 100_000}`,
    value: workloadValue(offset + i),
  }));
}

function body(count: number): string {
  return JSON.stringify({
    entries: ops(count, 0).map((op) => ({
      type: op.type,
      key: op.key,
      value: Buffer.from(op.value).toString('base64'),
    })),
  });
}

/** Starts a child that prints `LISTENING <url>` (bare) or logs `listening` (serve). */
function startChild(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const bare = /LISTENING (\S+)/.exec(buffered);
      const served = /"url":"([^"]+)"[^\n]*"msg":"listening"/.exec(buffered);
      const promoted = buffered.includes('promoted: this node is the primary');
      if (bare !== null) resolve({ url: bare[1]!, child });
      else if (served !== null && promoted) resolve({ url: served[1]!, child });
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code}: ${buffered.slice(-500)}`)));
  });
}

const BARE_SERVER = `
import { createServer } from 'node:http';
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const answer = '{"seqs":["1"],"epoch":"1"}';
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': answer.length, 'oplog-applied-seq': '0' });
    res.end(answer);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => console.log('LISTENING http://127.0.0.1:' + server.address().port));
`;

/** `clients` keep-alive loops posting `payload` for `ms`; returns requests/s. */
async function httpRun(url: string, payload: string, clients: number, ms: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const { hostname, port } = new URL(url);
  const length = Buffer.byteLength(payload);
  let done = 0;
  let failed = 0;
  const until = performance.now() + ms;
  const post = () =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          agent,
          hostname,
          port,
          path: '/v1/append',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': length },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) done++;
            else failed++;
            resolve();
          });
        },
      );
      req.on('error', () => (failed++, resolve()));
      req.end(payload);
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) await post();
    }),
  );
  agent.destroy();
  if (failed > 0) throw new Error(`${failed} requests failed against ${url}`);
  return done / ((performance.now() - start) / 1000);
}

/** `clients` concurrent callers of appendMany with `count` entries each, for `ms`; calls/s. */
async function libraryRun(
  writer: PrimaryWriter,
  count: number,
  clients: number,
  ms: number,
): Promise<number> {
  const batch = ops(count, 0);
  let done = 0;
  const until = performance.now() + ms;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        await writer.appendMany(batch);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const bare = await startChild(['--input-type=module', '-e', BARE_SERVER]);
const served = await startChild([
  join(repo, 'src/cli/main.ts'),
  'serve',
  '--role',
  'primary',
  '--cluster',
  'bench-http',
  '--store',
  `file:${join(dir, 'serve')}`,
  '--http',
  '127.0.0.1:0',
]);
const compression = nativeZstd()!;
const libraryStore = await FileLogStore.open({ dataDir: join(dir, 'library'), clusterId: 'bench-http' });
const writer = await PrimaryWriter.start({ stores: [libraryStore], compression });

const rows: (string | number)[][] = [];
try {
  for (const count of BODIES) {
    const payload = body(count);
    for (const clients of CLIENTS) {
      const rates = { bare: [] as number[], serve: [] as number[], library: [] as number[] };
      const runners: [keyof typeof rates, () => Promise<number>][] = [
        ['bare', () => httpRun(bare.url, payload, clients, SLICE_MS)],
        ['serve', () => httpRun(served.url, payload, clients, SLICE_MS)],
        ['library', () => libraryRun(writer, count, clients, SLICE_MS)],
      ];
      for (let round = 0; round < ROUNDS; round++)
        for (let k = 0; k < runners.length; k++) {
          const [name, run] = runners[(round + k) % runners.length]!;
          rates[name].push(await run());
        }
      const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]!));
      rows.push([
        count,
        clients,
        fmt(median(rates.bare)),
        fmt(median(rates.serve)),
        fmt(median(rates.serve) * count),
        fmt(median(rates.library) * count),
        fmt(ratio(rates.serve, rates.bare), 2),
        fmt(ratio(rates.serve, rates.library), 2),
      ]);
      console.error(`done: ${count} entries × ${clients} clients`);
    }
  }
} finally {
  await writer.close();
  await libraryStore.close();
  bare.child.kill('SIGKILL');
  served.child.kill('SIGTERM');
  await new Promise((r) => served.child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  `http bench · ${machine()} · ${ROUNDS} rounds of ${SLICE_MS} ms slices, 512-byte values, file store\n`,
);
console.log(
  table(
    [
      'entries per request',
      'clients',
      'bare node:http req/s',
      'serve req/s',
      'serve entries/s',
      'library writer entries/s',
      'serve / bare (req/s)',
      'serve / library (entries/s)',
    ],
    rows,
  ),
);
