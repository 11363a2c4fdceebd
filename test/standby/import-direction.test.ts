/**
 * Dependencies point inward (DESIGN.md "Architecture", issue 13): `standby/` depends on
 * ports only — no other role (`primary/`, `node/`), no concrete store adapter, no store
 * client library — so the writer reaches it through the writer port and the election
 * through the election port. A source scan of every import in src/standby.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '../../src/standby');
const FORBIDDEN = [
  /^\.\.\/primary\//,
  /^\.\.\/node\//,
  /^\.\.\/cli\//,
  /^\.\.\/stores\/(etcd|kafka|file)\//,
  /^\.\.\/stores\/memory-store\.js$/,
  /^(etcd3|kafkajs|@platformatic\/kafka|cockatiel)$/,
];

describe('standby/ imports', () => {
  it('name no other role, no concrete store and no store client', () => {
    const offending: string[] = [];
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('standby.ts');
    for (const file of files) {
      const source = readFileSync(join(dir, file), 'utf8');
      for (const [, spec] of source.matchAll(/from '([^']+)'/g))
        if (FORBIDDEN.some((rule) => rule.test(spec!))) offending.push(`${file}: ${spec}`);
    }
    expect(offending).toEqual([]);
  });
});
