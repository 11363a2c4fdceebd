/**
 * Appends over HTTP, as bench/http.bench.ts measures them: `oplog serve --role primary`
 * on a file store in a child process, driven by N keep-alive node:http clients posting
 * single-entry bodies (512-byte values) and waiting for each answer. Baselines in the
 * same run: a bare node:http server in a child process that reads each body and answers
 * a fixed body (what HTTP itself costs here, with the same client), and the library
 * PrimaryWriter in this process on a file store with as many callers. The client runs
 * in this process: on 2 cores it competes with the server for CPU, for serve and bare alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrimaryWriter } from '../../primary/primary-writer.js';
import { FileLogStore } from '../../stores/file/file-store.js';
import { closedLoop, type ClosedLoopResult } from '../loops.js';
import { FIXED_VALUE_BYTES, median, type BenchPlan } from '../plan.js';
import { ratio, type HttpRow } from '../results.js';
import { fileDirOf } from '../targets.js';
import { Workload } from '../workload.js';

const START_TIMEOUT_MS = 30_000;

const BARE_SERVER = `
import { createServer } from 'node:http';
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    const answer = '{"seqs":["1"],"epoch":"1"}';
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': answer.length });
    res.end(answer);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => console.log('LISTENING http://127.0.0.1:' + server.address().port));
`;

/** The `oplog` entry point beside this file: main.js when built, main.ts under tsx (the failover scenario's nodes too). */
export function cliMain(): string {
  for (const name of ['main.js', 'main.ts']) {
    const path = fileURLToPath(new URL(`../../cli/${name}`, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('http bench: cannot find src/cli/main (build first: npm run build)');
}

interface Child {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts a child and resolves once `ready` finds its URL on stdout (bounded). */
function startChild(args: readonly string[], ready: (stdout: string) => string | undefined): Promise<Child> {
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`http bench: child not ready in ${START_TIMEOUT_MS} ms: ${stderr.slice(-500)}`));
    }, START_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = ready(stdout);
      if (url !== undefined) {
        clearTimeout(timer);
        resolve({ url, stop });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`http bench: child exited ${code}: ${stderr.slice(-500)}${stdout.slice(-500)}`));
    });
  });
}

function served(stdout: string): string | undefined {
  const url = /"url":"([^"]+)"[^\n]*"msg":"listening"/.exec(stdout)?.[1];
  return url !== undefined && stdout.includes('promoted: this node is the primary') ? url : undefined;
}

/** `clients` keep-alive callers posting `payload` to `url`; any non-200 answer stops the run. */
function httpLoop(url: string, payload: string, clients: number, plan: BenchPlan): Promise<ClosedLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const { hostname, port } = new URL(url);
  const length = Buffer.byteLength(payload);
  const post = () =>
    new Promise<void>((resolve, reject) => {
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
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve()
              : reject(new Error(`http bench: ${url} answered ${res.statusCode}: ${body.slice(0, 300)}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  return closedLoop(post, { clients, durationMs: plan.caseMs, warmupMs: plan.warmupMs }).finally(() =>
    agent.destroy(),
  );
}

export async function httpScenario(plan: BenchPlan): Promise<HttpRow[]> {
  const fileSetup = plan.setups.find((s) => fileDirOf(s) !== undefined);
  const parent = (fileSetup === undefined ? undefined : fileDirOf(fileSetup)) ?? plan.workDir;
  const dir = mkdtempSync(join(parent, 'oplog-bench-http-'));
  const workload = new Workload(FIXED_VALUE_BYTES);
  const op = workload.op(1);
  const payload = JSON.stringify({
    entries: [{ type: op.type, key: op.key, value: Buffer.from(op.value).toString('base64') }],
  });
  const children: Child[] = [];
  let store: FileLogStore | undefined;
  let writer: PrimaryWriter | undefined;
  try {
    children.push(
      await startChild(['--input-type=module', '-e', BARE_SERVER], (s) => /LISTENING (\S+)/.exec(s)?.[1]),
    );
    const bare = children[0]!;
    children.push(
      await startChild(
        [
          cliMain(),
          'serve',
          '--role',
          'primary',
          '--cluster',
          plan.ids.take('http-serve'),
          '--store',
          `file:${join(dir, 'serve')}`,
          '--http',
          '127.0.0.1:0',
          '--snapshot-dir',
          join(dir, 'snapshots'),
          '--log-level',
          'info',
        ],
        served,
      ),
    );
    const serve = children[1]!;
    store = await FileLogStore.open({
      dataDir: join(dir, 'library'),
      clusterId: plan.ids.take('http-library'),
    });
    writer = await PrimaryWriter.start({ stores: [store], compression: plan.compression });
    const w = writer;
    let next = 0;
    const rows: HttpRow[] = [];
    for (const clients of plan.httpClients) {
      const runs = {
        bare: () => httpLoop(bare.url, payload, clients, plan),
        serve: () => httpLoop(serve.url, payload, clients, plan),
        library: () =>
          closedLoop(() => w.append(workload.op(next++)), {
            clients,
            durationMs: plan.caseMs,
            warmupMs: plan.warmupMs,
          }),
      };
      const names = Object.keys(runs) as (keyof typeof runs)[];
      const rates: Record<keyof typeof runs, number[]> = { bare: [], serve: [], library: [] };
      const p99s: number[] = [];
      for (let round = 0; round < plan.rounds; round++)
        for (let k = 0; k < names.length; k++) {
          const name = names[(round + k) % names.length]!;
          const result = await runs[name]();
          rates[name].push(ratio(result.ops, result.seconds));
          if (name === 'serve') p99s.push(result.latency.p99Ms);
        }
      const perRound = (a: number[], b: number[]) => median(a.map((x, i) => ratio(x, b[i]!)));
      rows.push({
        clients,
        valueBytes: FIXED_VALUE_BYTES,
        serveRequestsPerS: median(rates.serve),
        serveP99Ms: median(p99s),
        bareRequestsPerS: median(rates.bare),
        libraryEntriesPerS: median(rates.library),
        serveOverBare: perRound(rates.serve, rates.bare),
        serveOverLibrary: perRound(rates.serve, rates.library),
      });
      const row = rows.at(-1)!;
      plan.progress(
        `http ${clients} clients: serve ${Math.round(row.serveRequestsPerS)} req/s, bare ${Math.round(row.bareRequestsPerS)} req/s, library ${Math.round(row.libraryEntriesPerS)}/s`,
      );
    }
    return rows;
  } finally {
    await writer?.close({ drainMs: 10_000 });
    await store?.close();
    for (const child of children) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
