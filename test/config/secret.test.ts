/**
 * readSecret (src/config/secret.ts) returns a secret file's content trimmed, and
 * refuses a missing, empty, oversized or non-regular file — and, when asked, a
 * world-readable one — with a ConfigError naming the field and the path and never a
 * byte of the secret.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSecret, SECRET_BYTES_MAX } from '../../src/config/secret.js';
import { problemOf } from './problems.js';

const dir = mkdtempSync(join(tmpdir(), 'oplog-secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function secretFile(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

describe('readSecret', () => {
  it('returns the content without the surrounding whitespace', () => {
    expect(readSecret(secretFile('token', '  s3cr3t-token\n'), 'auth.tokenFile')).toBe('s3cr3t-token');
    expect(readSecret(secretFile('pw', 'two words\r\n'))).toBe('two words');
  });

  it.each([
    ['missing', () => join(dir, 'absent'), 'secret file does not exist'],
    ['empty', () => secretFile('empty', ''), 'secret file is empty'],
    ['only whitespace', () => secretFile('blank', ' \n\t\n'), 'secret file is empty'],
    [
      'a directory',
      () => (mkdirSync(join(dir, 'sub'), { recursive: true }), join(dir, 'sub')),
      'must be a regular file holding the secret',
    ],
    [
      'too large',
      () => secretFile('big', 'x'.repeat(SECRET_BYTES_MAX + 1)),
      `is ${SECRET_BYTES_MAX + 1} bytes; a secret file is at most ${SECRET_BYTES_MAX}`,
    ],
  ])('%s: refused, naming the field and the path', (_what, make, rule) => {
    const path = make();
    expect(problemOf(() => readSecret(path, 'stores[0].auth.passwordFile'))).toEqual({
      field: 'stores[0].auth.passwordFile',
      value: path,
      rule,
    });
  });

  it('world-readable: accepted by default (Kubernetes and Docker mount secrets so), refused when asked', () => {
    const path = secretFile('shared', 'hunter2', 0o644);
    expect(readSecret(path, 'auth.tokenFile')).toBe('hunter2');
    const problem = problemOf(() => readSecret(path, 'auth.tokenFile', { refuseWorldReadable: true }));
    expect(problem.rule).toBe('is readable by every user (mode 644); chmod o-r it');
    expect(
      readSecret(secretFile('private', 'hunter2', 0o640), 'auth.tokenFile', { refuseWorldReadable: true }),
    ).toBe('hunter2');
  });

  it('never puts the secret in an error', () => {
    const secret = 'do-not-print-me';
    const path = secretFile('leak', `${secret}\n`, 0o604);
    try {
      readSecret(path, 'auth.tokenFile', { refuseWorldReadable: true });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain(secret);
      expect(JSON.stringify(error)).not.toContain(secret);
    }
  });
});
