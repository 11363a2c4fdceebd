/**
 * The CLI's flag parsers (src/cli/flags.ts): decimal integers only and within their
 * bound, u64 seqs as bigints, strict times, HOST:PORT lists; every refusal an
 * InvalidInputError naming the flag, the value and the rule.
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/core/errors.js';
import { parseEndpoints, parseInteger, parseSeq, parseTime, SEQ_MAX } from '../../src/cli/flags.js';

function refusal(parse: () => unknown): InvalidInputError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error('accepted');
}

describe('parseInteger', () => {
  it('accepts decimal integers within the bound', () => {
    expect(parseInteger('--n', '1', 1, 10)).toBe(1);
    expect(parseInteger('--n', '10', 1, 10)).toBe(10);
    expect(parseInteger('--n', '0', 0, 10)).toBe(0);
  });

  it.each([
    '0',
    '-1',
    '1.5',
    '1e3',
    'abc',
    '',
    ' 5',
    '5 ',
    '+5',
    '0x10',
    '007',
    '11',
    '1_000',
    'Infinity',
    'NaN',
    '9'.repeat(400),
  ])('refuses %j, naming the flag, the value and the rule', (text) => {
    const error = refusal(() => parseInteger('--entries', text, 1, 10));
    expect(error.field).toBe('--entries');
    expect(error.message).toMatch(
      /^invalid --entries: must be an integer in \[1, 10\] \(decimal digits only\), got /,
    );
    expect(error.message).toContain(text.length > 80 ? text.slice(0, 80) : text);
  });
});

describe('parseSeq', () => {
  it('is a bigint up to 2^64 - 1, never a rounded number', () => {
    expect(parseSeq('--to-seq', '18446744073709551615')).toBe(SEQ_MAX);
    expect(parseSeq('--to-seq', '9007199254740993')).toBe(9007199254740993n);
  });
  it.each(['0', '-1', '18446744073709551616', '1.0', '1e3', 'abc'])('refuses %j', (text) => {
    expect(refusal(() => parseSeq('--to-seq', text)).message).toMatch(
      /^invalid --to-seq: must be a seq in \[1, 18446744073709551615\]/,
    );
  });
});

describe('parseTime', () => {
  it('takes ISO 8601 with a zone, or ms since the Unix epoch', () => {
    expect(parseTime('--to-time', '2026-01-31T12:00:00Z')).toBe(Date.UTC(2026, 0, 31, 12));
    expect(parseTime('--to-time', '2026-01-31T14:00:00.5+02:00')).toBe(Date.UTC(2026, 0, 31, 12, 0, 0, 500));
    expect(parseTime('--to-time', '2026-01-31T12:00Z')).toBe(Date.UTC(2026, 0, 31, 12));
    expect(parseTime('--to-time', '1800000000000')).toBe(1_800_000_000_000);
  });
  it.each([
    'tomorrowish',
    '2026-01-31', // no time: which zone's midnight?
    '2026-01-31T12:00:00', // no zone
    '2026-02-30T00:00:00Z', // no such day (Date.parse rolls it over)
    '2026-01-31T24:00:00Z',
    'March 7, 2026 UTC',
    '-5',
    '1.5',
    '99999999999999999',
  ])('refuses %j', (text) => {
    expect(refusal(() => parseTime('--to-time', text)).message).toMatch(
      /^invalid --to-time: must be an ISO 8601 time/,
    );
  });
});

describe('parseEndpoints', () => {
  it('takes HOST:PORT lists: names, IPv4, bracketed IPv6', () => {
    expect(parseEndpoints('--etcd', '127.0.0.1:2379')).toEqual(['127.0.0.1:2379']);
    expect(parseEndpoints('--kafka', 'b1.example.com:9092,b2:9092,[::1]:9093')).toEqual([
      'b1.example.com:9092',
      'b2:9092',
      '[::1]:9093',
    ]);
  });
  it.each([
    ['nothost', /must be HOST:PORT/],
    ['h:0', /bad port in "h:0"/],
    ['h:99999', /bad port in "h:99999"/],
    ['h:', /bad port/],
    [':2379', /must be HOST:PORT/],
    ['h:80x', /bad port/],
    ['h:-1', /bad port/],
    ['h:1.5', /bad port/],
    ['a b:1', /bad host/],
    ['999.1.1.1:80', /bad host/],
    ['1.2.3:80', /bad host/],
    ['-h:80', /bad host/],
    ['h:1,', /must be HOST:PORT/],
    ['h:1,h:1', /h:1 is given twice/],
    [Array.from({ length: 17 }, (_, i) => `h${i}:1`).join(','), /at most 16/],
  ])('refuses %j', (text, rule) => {
    const error = refusal(() => parseEndpoints('--etcd', text));
    expect(error.message).toMatch(/^invalid --etcd: /);
    expect(error.message).toMatch(rule);
  });
});
