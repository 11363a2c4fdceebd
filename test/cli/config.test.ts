/**
 * `oplog config --print` (src/cli/config.ts) shows the effective config — the file,
 * OPLOG_* and flags over the defaults — as JSON, with secret files as paths only; a bad
 * config is exit 2 with every problem named. Checked on the real process (through
 * tsx) for one good and one bad config, and in-process for the flag helper that
 * `oplog serve` shares.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { addServeConfigOptions, configFromFlags, type ServeConfigFlags } from '../../src/cli/config.js';
import { runCli } from '../../src/cli/program.js';
import { loadConfig } from '../../src/config/config.js';
import { InvalidConfigError } from '../../src/config/config-error.js';
import type { OplogConfig } from '../../src/config/types.js';
import { runOplog } from '../helpers/cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'oplog-config-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real `oplog` process, with exactly `env` plus PATH. */
const oplog = (args: string[], env: Record<string, string> = {}) => runOplog(args, env);

describe('the real process', () => {
  it('a good config: exit 0, the effective config on stdout, secrets as paths only', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'the-secret-token\n', { mode: 0o600 });
    const configFile = join(dir, 'oplog.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        clusterId: 'from-file',
        stores: [
          {
            kind: 'etcd',
            hosts: ['127.0.0.1:2379'],
            auth: { username: 'oplog', passwordFile: '/run/etcd-pw' },
          },
        ],
        writer: { lingerMs: 5 },
        auth: { tokenFile },
      }),
    );
    const result = await oplog(
      [
        'config',
        '--print',
        '--config',
        configFile,
        '--role',
        'auto',
        '--http',
        '0.0.0.0:9000',
        '--node-id',
        'n1',
      ],
      { OPLOG_CLUSTER_ID: 'from-env', OPLOG_LOG_LEVEL: 'warn' },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const config = JSON.parse(result.stdout) as OplogConfig;
    expect(config).toMatchObject({
      clusterId: 'from-env',
      role: 'auto',
      nodeId: 'n1',
      stores: [
        {
          kind: 'etcd',
          hosts: ['127.0.0.1:2379'],
          prefix: 'oplog',
          callTimeoutMs: 5000,
          auth: { passwordFile: '/run/etcd-pw' },
        },
      ],
      source: 'etcd',
      writer: { lingerMs: 5, batchEntriesMax: 1024 },
      server: { http: '0.0.0.0:9000' },
      auth: { tokenFile },
      logging: { level: 'warn' },
    });
    expect(result.stdout).not.toContain('the-secret-token');
  });

  it('a bad config: exit 2, every problem on stderr with field, value, rule and source; nothing on stdout', async () => {
    const result = await oplog(['config', '--print', '--store', 'file:./d', '--role', 'leader'], {
      OPLOG_CLUSTER_ID: '../escape',
    });
    expect(result).toEqual({
      status: 2,
      stdout: '',
      stderr: expect.stringMatching(/^oplog: \[OPLOG_CONFIG\] config has 2 problems:\n/),
    });
    expect(result.stderr).toContain('  clusterId="../escape": must be a name matching');
    expect(result.stderr).toContain('(set by OPLOG_CLUSTER_ID)');
    expect(result.stderr).toContain('  role="leader": must be one of primary, standby, auto (set by --role)');
  });
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('in-process', () => {
  it('without --print there is nothing to do: exit 2', async () => {
    expect(await cli(['config', '--cluster', 'c'])).toEqual({
      code: 2,
      out: '',
      err: 'oplog config: nothing to do: give --print (oplog config --help lists the options)',
    });
  });

  it('a bad --store URL: exit 2 naming --store', async () => {
    const { code, err } = await cli(['config', '--print', '--cluster', 'c', '--store', 'etcd://a:1,,b:2']);
    expect(code).toBe(2);
    expect(err).toBe(
      'oplog: [OPLOG_CONFIG] config --store="etcd://a:1,,b:2": host 2 is empty; hosts are separated by single commas',
    );
  });
});

describe('the flag helper oplog serve shares', () => {
  function parse(argv: string[]): ServeConfigFlags {
    const command = addServeConfigOptions(new Command('serve').exitOverride());
    command.parse(argv, { from: 'user' });
    return command.opts<ServeConfigFlags>();
  }

  it('turns every flag into its config field; --store repeats', () => {
    const input = configFromFlags(
      parse([
        '--store',
        'file:./d',
        '--store',
        'kafka://k:1',
        '--cluster',
        'c',
        '--role',
        'primary',
        '--node-id',
        'n',
        '--source',
        'file',
        '--http',
        '127.0.0.1:0',
        '--peer',
        'http://p:1',
        '--token-file',
        '/t',
        '--snapshot-dir',
        '/s',
        '--log-level',
        'error',
        '--log-pretty',
      ]),
      {},
    );
    const config = loadConfig({ ...input, host: { hostname: 'h', pid: 1 } });
    expect(config).toMatchObject({
      clusterId: 'c',
      role: 'primary',
      nodeId: 'n',
      stores: [
        { kind: 'file', dataDir: './d' },
        { kind: 'kafka', brokers: ['k:1'] },
      ],
      source: 'file',
      server: { http: '127.0.0.1:0' },
      bootstrap: { peer: 'http://p:1' },
      auth: { tokenFile: '/t' },
      snapshots: { dir: '/s' },
      logging: { level: 'error', pretty: true },
    });
  });

  it('sets nothing a flag did not give (no commander defaults to override the file or OPLOG_*)', () => {
    expect(configFromFlags(parse([]), {})).toEqual({ env: {}, flags: {}, flagNames: expect.any(Object) });
  });

  it('--config, else $OPLOG_CONFIG, names the file', () => {
    expect(configFromFlags(parse(['--config', 'a.json']), { OPLOG_CONFIG: 'b.json' }).file).toBe('a.json');
    expect(configFromFlags(parse([]), { OPLOG_CONFIG: 'b.json' }).file).toBe('b.json');
    expect(configFromFlags(parse([]), { OPLOG_CONFIG: '' }).file).toBeUndefined();
  });

  it('every bad --store at once', () => {
    try {
      configFromFlags(parse(['--store', 'redis://x', '--store', 'file:']), {});
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).problems.map((p) => p.value)).toEqual(['redis://x', 'file:']);
    }
  });
});
