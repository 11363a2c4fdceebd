/**
 * The `oplog` command as a user meets it (issue 12, item 4): every subcommand answers
 * --help with its options, their bounds and defaults, and examples (exit 0);
 * `oplog --version` prints package.json's version; the exit codes are the documented
 * ones, checked on the real process (stdout, stderr, exit status), not only in-process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { runOplog } from '../helpers/cli-process.js';

const repo = join(import.meta.dirname, '../..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

/** Runs src/cli/main.ts in a real node process (through tsx: no build needed). */
const oplog = (...args: string[]) => runOplog(args);

async function help(argv: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await runCli(argv, { out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`) });
  return { code, text: lines.join('\n') };
}

describe('--help on every subcommand', () => {
  it.each([
    [
      'demo',
      [
        '--entries <count>',
        'an integer in [1, 10000000] (default: 50000)',
        '--value-bytes <bytes>',
        'an integer in [1, 917339]',
        '$ oplog demo',
      ],
    ],
    [
      'replay',
      [
        '--to-seq <seq>',
        'a seq in [1, 2^64 - 1]',
        '--to-time <time>',
        '--no-snapshot',
        '--store <kind>',
        'file | etcd | kafka',
        '$ oplog replay',
      ],
    ],
    [
      'inspect',
      [
        '--from-seq <seq>',
        '(default: 1)',
        '--limit <records>',
        'an integer in [1, 100000] (default: 20)',
        '$ oplog inspect',
      ],
    ],
    ['verify', ['--snapshot-dir <dir>', '--etcd <endpoints>', 'HOST:PORT[,HOST:PORT…]', '$ oplog verify']],
    [
      'serve',
      [
        '--role <role>',
        'primary | standby | auto',
        '--store <url>',
        '--log-pretty',
        'human-readable log lines for a person at a terminal',
        '--log-pretty --log-level debug',
        'Exit codes:',
        'OPLOG_STORES',
        'OPLOG_LOG_PRETTY',
        '$ oplog serve',
      ],
    ],
    [
      'bench',
      [
        '--quick',
        '--scenarios <list>',
        'throughput, latency, replay, ceilings, http',
        '--store <url>',
        '--seconds <s>',
        'an integer in [1, 600]',
        '--out <dir>',
        '(default: "bench/results")',
        '$ oplog bench --quick',
      ],
    ],
    ['status', ['<url...>', '--once', '--json', '--interval-ms <ms>', '$ oplog status']],
    [
      'config',
      [
        '--print',
        '--config <file>',
        '--store <url>',
        'OPLOG_CLUSTER_ID',
        'OPLOG_STORES',
        '$ oplog config --print',
      ],
    ],
  ])('oplog %s --help: options, bounds, defaults, examples; exit 0', async (command, expected) => {
    for (const argv of [
      [command, '--help'],
      [command, '-h'],
      ['help', command],
    ]) {
      const { code, text } = await help(argv);
      expect(code, argv.join(' ')).toBe(0);
      expect(text).toMatch(new RegExp(`^Usage: oplog ${command} `));
      expect(text).toContain('Examples:');
      // Commander wraps to the terminal's width: compare with the wrapping undone.
      for (const part of expected) expect(text.replace(/\s+/g, ' ')).toContain(part);
      expect(text).not.toContain('ERR');
    }
  });
});

describe('the real process', () => {
  it('oplog --version prints package.json version, exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await oplog(flag);
      expect(result).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('exit codes: 0 help, 2 bad input or config on stderr, 2 unknown option, 2 no command', async () => {
    const [helpResult, badValue, unknown, none, serve, bench] = await Promise.all([
      oplog('--help'),
      oplog('demo', '--value-bytes', '999999999'),
      oplog('replay', '--bogus'),
      oplog(),
      oplog('serve', '--role', 'primary'),
      oplog('bench', '--seconds', '0'),
    ]);
    expect(helpResult.status).toBe(0);
    expect(helpResult.stdout).toContain('Exit codes:');
    expect(helpResult.stdout).toMatch(/replay \[options\]/);
    expect(badValue).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'oplog: [OPLOG_INVALID_INPUT] invalid --value-bytes: must be an integer in [1, 917339] (decimal digits only), got 999999999\n',
    });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(
      /^oplog replay: unknown option '--bogus'\n\(oplog replay --help lists the options and examples\)\n$/,
    );
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^Usage: oplog /);
    // serve without a cluster or a store: a config error naming both, before anything starts.
    expect(serve.status).toBe(2);
    expect(serve.stdout).toBe('');
    expect(serve.stderr).toMatch(
      /^oplog: \[OPLOG_CONFIG\] config has 2 problems:\n {2}clusterId: is required/,
    );
    expect(serve.stderr).toContain('stores: is required');
    // bench refuses a bad bound before measuring or writing anything.
    expect(bench).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'oplog: [OPLOG_INVALID_INPUT] invalid --seconds: must be an integer in [1, 600] (decimal digits only), got 0\n',
    });
  });
});
