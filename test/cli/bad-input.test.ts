/**
 * Bad input on the command line (issue 12, item 4): every numeric flag of every
 * subcommand refuses `0`, negatives, fractions, exponents, garbage and values past its
 * bound; every HOST:PORT flag refuses what is not one; every cluster id flag refuses
 * one that could escape its namespace. Each refusal is exit 2 with a typed message
 * naming the flag and the value, the same in every subcommand, and leaves no
 * directory behind.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { APPEND_VALUE_BYTES_MAX } from '../../src/core/limits.js';

const root = mkdtempSync(join(tmpdir(), 'oplog-bad-input-'));
/** The demo's temporary directories go here, so "none left behind" is checkable. */
const privateTmp = join(root, 'tmp');
const savedTmp = process.env['TMPDIR'];
beforeAll(() => {
  rmSync(privateTmp, { recursive: true, force: true });
  // node:os tmpdir() reads TMPDIR on every call; this file runs in its own process.
  process.env['TMPDIR'] = privateTmp;
  return () => {
    if (savedTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmp;
  };
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const NUMBERS = ['0', '-1', '1.5', '1e3', 'abc', '', '+5', '0x10', '007', ' 5'];
const ADDRESSES = ['nothost', 'h:0', 'h:99999', 'h:', ':2379', 'h:80x', 'a b:1', '999.1.1.1:80', 'h:1,h:1'];
const CLUSTER_IDS = ['../x', 'a/b', '', '..', '.hidden', 'x'.repeat(129)];

/** [subcommand, the flags it needs besides the one under test, where it would write]. */
const dataDir = () => join(root, 'never-created');
const SUBCOMMANDS: readonly { name: string; base: string[] }[] = [
  { name: 'demo', base: ['--data-dir', dataDir()] },
  // Without --data-dir the demo would make a temporary directory: not for a refused command.
  { name: 'demo', base: [] },
  {
    name: 'replay',
    base: ['--data-dir', dataDir(), '--snapshot-dir', join(root, 'never-created-snapshots')],
  },
  { name: 'inspect', base: ['--data-dir', dataDir()] },
  {
    name: 'verify',
    base: ['--data-dir', dataDir(), '--snapshot-dir', join(root, 'never-created-snapshots')],
  },
];
/** Every numeric flag, with its bound: the first value past it is refused too. */
const NUMERIC: readonly { command: string; flag: string; rule: RegExp; pastMax: string }[] = [
  { command: 'demo', flag: '--entries', rule: /an integer in \[1, 10000000\]/, pastMax: '10000001' },
  { command: 'demo', flag: '--keys', rule: /an integer in \[1, 10000000\]/, pastMax: '10000001' },
  {
    command: 'demo',
    flag: '--value-bytes',
    rule: new RegExp(`an integer in \\[1, ${APPEND_VALUE_BYTES_MAX}\\]`),
    pastMax: String(APPEND_VALUE_BYTES_MAX + 1),
  },
  { command: 'demo', flag: '--value-bytes', rule: /an integer in/, pastMax: '999999999' },
  {
    command: 'replay',
    flag: '--to-seq',
    rule: /a seq in \[1, 18446744073709551615\]/,
    pastMax: '18446744073709551616',
  },
  {
    command: 'inspect',
    flag: '--from-seq',
    rule: /a seq in \[1, 18446744073709551615\]/,
    pastMax: '18446744073709551616',
  },
  { command: 'inspect', flag: '--limit', rule: /an integer in \[1, 100000\]/, pastMax: '100001' },
];

function expectRefused(result: { code: number; out: string[]; err: string[] }, message: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.out).toEqual([]);
  expect(result.err).toHaveLength(1);
  expect(result.err[0]).toMatch(message);
  // Nothing created: no data dir, no snapshots dir, no demo temporary directory.
  expect(existsSync(dataDir())).toBe(false);
  expect(existsSync(join(root, 'never-created-snapshots'))).toBe(false);
  expect(existsSync(privateTmp) ? readdirSync(privateTmp) : []).toEqual([]);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('numeric flags', () => {
  for (const { command, flag, rule, pastMax } of NUMERIC) {
    const base = SUBCOMMANDS.find((s) => s.name === command)!.base;
    it.each([...NUMBERS, pastMax])(`${command} ${flag} %j: exit 2, typed, nothing created`, async (value) => {
      expectRefused(
        await cli([command, ...base, flag, value]),
        new RegExp(
          `^oplog: \\[OPLOG_INVALID_INPUT\\] invalid ${flag}: must be ${rule.source}.*, got "?${escape(value)}"?$`,
        ),
      );
    });
  }

  it('demo: values × entries and keys × values are bounded too (the 24 GB run is refused up front)', async () => {
    expectRefused(
      await cli(['demo', '--value-bytes', String(APPEND_VALUE_BYTES_MAX)]),
      /^oplog: \[OPLOG_INVALID_INPUT\] invalid --entries × --value-bytes: 50000 × 917339 = 45866950000 bytes of values, over the demo's 4294967296$/,
    );
    expectRefused(
      await cli([
        'demo',
        ...SUBCOMMANDS[0]!.base,
        '--entries',
        '1000',
        '--keys',
        '1000',
        '--value-bytes',
        '917339',
      ]),
      /^oplog: \[OPLOG_INVALID_INPUT\] invalid --keys × --value-bytes: 1000 keys × 917339 = 917339000 bytes of state/,
    );
  });

  it('replay --to-time: not a time, no zone, no such day', async () => {
    for (const value of ['tomorrowish', '2026-01-31T12:00:00', '2026-02-30T00:00:00Z', '-1', '1.5'])
      expectRefused(
        await cli(['replay', ...SUBCOMMANDS[2]!.base, '--to-time', value]),
        /^oplog: \[OPLOG_INVALID_INPUT\] invalid --to-time: must be an ISO 8601 time/,
      );
  });
});

describe('HOST:PORT flags', () => {
  const flags: [string, string][] = [
    ['replay', '--etcd'],
    ['replay', '--kafka'],
    ['inspect', '--etcd'],
    ['inspect', '--kafka'],
    ['verify', '--etcd'],
    ['verify', '--kafka'],
  ];
  for (const [command, flag] of flags) {
    const base = SUBCOMMANDS.find((s) => s.name === command)?.base ?? [];
    it.each(ADDRESSES)(`${command} ${flag} %j: exit 2, typed (no NaN)`, async (value) => {
      const result = await cli([command, ...base, flag, value]);
      expectRefused(result, new RegExp(`^oplog: \\[OPLOG_INVALID_INPUT\\] invalid ${flag}: `));
      expect(result.err[0]).not.toContain('NaN');
    });
  }
});

describe('cluster ids and prefixes', () => {
  const flags: [string, string[], string][] = [
    ...SUBCOMMANDS.map((s): [string, string[], string] => [s.name, s.base, '--cluster-id']),
    ['replay', SUBCOMMANDS[2]!.base, '--etcd-prefix'],
    ['verify', SUBCOMMANDS[4]!.base, '--topic-prefix'],
  ];
  for (const [command, base, flag] of flags) {
    it.each(CLUSTER_IDS)(`${command} ${base.join(' ')} ${flag} %j: exit 2, typed`, async (value) => {
      expectRefused(
        await cli([command, ...base, flag, value]),
        /^oplog: \[OPLOG_INVALID_CLUSTER_ID\] invalid cluster id ".*": must match/,
      );
    });
  }
});

describe('the rest of the command line', () => {
  it.each([
    [['demo', '--entriez', '5'], /^oplog demo: unknown option '--entriez'/],
    [['replay', '--data-dir', 'x', 'extra'], /^oplog replay: too many arguments/],
    [
      ['replay', '--store', 'tape', '--data-dir', 'x'],
      /^oplog: \[OPLOG_INVALID_INPUT\] invalid --store: must be one of file, etcd, kafka, got "tape"/,
    ],
    [
      ['serve', '--cluster', 'c', '--store', `file:${dataDir()}`, '--role', 'leader'],
      /^oplog: \[OPLOG_CONFIG\] config role="leader": must be one of primary, standby, auto \(set by --role\)/,
    ],
    [
      ['serve', '--cluster', 'c', '--store', `file:${dataDir()}`, '--http', '1.2.3.4:65536'],
      /^oplog: \[OPLOG_CONFIG\] config server\.http="1\.2\.3\.4:65536": must be HOST:PORT/,
    ],
    [
      ['serve', '--cluster', '../x', '--store', `file:${dataDir()}`],
      /^oplog: \[OPLOG_CONFIG\] config clusterId="\.\.\/x": must be a name/,
    ],
    [
      ['serve', '--cluster', 'c', '--store', 'etcd://a:1,,b:2'],
      /^oplog: \[OPLOG_CONFIG\] config --store="etcd:\/\/a:1,,b:2": host 2 is empty/,
    ],
    [['serve', '--cluster', 'c', '--store', `file:${dataDir()}`, '--role', 'auto'], /auto.*etcd/],
    [['inspect', '--limit'], /^oplog inspect: option '--limit <records>' argument missing/],
    [['frobnicate'], /^oplog: unknown command 'frobnicate'/],
    [
      ['replay', '--data-dir', 'x', '--to-seq', '5', '--to-time', '2026-01-01T00:00:00Z'],
      /give one bound, not both/,
    ],
  ])('%j: exit 2', async (argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.err[0]).toMatch(message);
    expect(existsSync(dataDir())).toBe(false);
  });

  it('no command: the usage on stderr, exit 2', async () => {
    const result = await cli([]);
    expect(result.code).toBe(2);
    expect(result.err.join('\n')).toMatch(/^Usage: oplog \[options\] \[command\]/);
  });
});
