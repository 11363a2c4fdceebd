/**
 * The failover check (src/bench/failover-history.ts): a store's final log judged
 * against every append the clients made. A clean history passes with its unknown
 * appends counted once; each anomaly a broken failover can leave — an acknowledged
 * append lost, found at another seq, written twice, a refused one present, an entry no
 * client appended, a seq missing from the log — is counted by name, and the service's
 * own checkpoint entries are not mistaken for any of them.
 */
import { describe, expect, it } from 'vitest';
import {
  anomaliesOf,
  checkLog,
  type AppendRecord,
  type LoggedEntry,
} from '../../src/bench/failover-history.js';

const ok = (key: string, seq: bigint): AppendRecord => ({ key, outcome: { kind: 'ok', seq, epoch: 1n } });
const failed = (key: string): AppendRecord => ({ key, outcome: { kind: 'failed' } });
const unknown = (key: string): AppendRecord => ({ key, outcome: { kind: 'unknown' } });
const put = (seq: bigint, key: string): LoggedEntry => ({ seq, type: 'put', key });

/** a@1, b@2, c@3 acknowledged; d refused; e and f unknown, e landed at 4; a checkpoint at 5. */
const history = [ok('a', 1n), ok('b', 2n), ok('c', 3n), failed('d'), unknown('e'), unknown('f')];
const clean = [
  put(1n, 'a'),
  put(2n, 'b'),
  put(3n, 'c'),
  put(4n, 'e'),
  { seq: 5n, type: 'checkpoint', key: '' },
];

describe('checkLog', () => {
  it('a clean log: no anomaly, the unknown append that landed counted once', () => {
    const check = checkLog('etcd', history, clean);
    expect(check).toEqual({
      store: 'etcd',
      entries: 5,
      lost: 0,
      misplaced: 0,
      duplicated: 0,
      failedPresent: 0,
      unexpected: 0,
      seqErrors: 0,
      unknownPresent: 1,
    });
    expect(anomaliesOf(check)).toBe(0);
  });

  it('each anomaly by name', () => {
    const cases: [string, LoggedEntry[], Partial<ReturnType<typeof checkLog>>][] = [
      ['an acknowledged append missing', [put(1n, 'a'), put(2n, 'b'), put(3n, 'e')], { lost: 1 }],
      ['acknowledged at 2, found at 3', [put(1n, 'a'), put(2n, 'c'), put(3n, 'b')], { misplaced: 2 }],
      ['one append at two seqs', [...clean, put(6n, 'e')], { duplicated: 1, unknownPresent: 1 }],
      ['a refused append present', [...clean, put(6n, 'd')], { failedPresent: 1 }],
      ['an entry no client appended', [...clean, put(6n, 'zombie')], { unexpected: 1 }],
      [
        'a seq missing from the log',
        [put(1n, 'a'), put(2n, 'b'), put(3n, 'c'), put(5n, 'e')],
        { seqErrors: 1 },
      ],
    ];
    for (const [what, entries, expected] of cases) {
      const check = checkLog('kafka', history, entries);
      const named = {
        lost: 0,
        misplaced: 0,
        duplicated: 0,
        failedPresent: 0,
        unexpected: 0,
        seqErrors: 0,
        ...expected,
      };
      expect(check, what).toMatchObject(named);
      expect(anomaliesOf(check), what).toBeGreaterThan(0);
    }
  });

  it('a history that reuses a key is refused: keys name appends', () => {
    expect(() => checkLog('etcd', [ok('a', 1n), unknown('a')], [])).toThrow(/key a appended twice/);
  });
});
