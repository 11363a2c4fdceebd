/**
 * `oplog demo`, the README's first command, in-process on a small log: it succeeds
 * only when primary, standby, snapshot + replay and full replay hold the same state,
 * and a second run on the same data dir continues the log under the next epoch.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { demo } from '../../src/cli/demo.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await demo(args, { out: (line) => lines.push(line), err: (line) => lines.push(line) });
  return { code, lines };
}

it('four equal state hashes, and a second run continues the log under the next epoch', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'oplog-demo-test-'));
  dirs.push(dataDir);
  const first = await run(['--entries', '3000', '--keys', '300', '--data-dir', dataDir]);
  expect(first.code).toBe(0);
  const hashes = first.lines.filter((l) => l.startsWith('state hash')).map((l) => l.split(/\s+/).at(-1));
  expect(hashes).toHaveLength(4);
  expect(new Set(hashes).size).toBe(1);
  // Halfway, after the first 2,000-entry chunk.
  expect(first.lines.some((l) => /^snapshot at seq 2000 \(\d+ keys, \d+ bytes zstd\)/.test(l))).toBe(true);

  const second = await run(['--entries', '1000', '--keys', '300', '--data-dir', dataDir]);
  expect(second.code).toBe(0);
  expect(second.lines[0]).toContain('epoch 2 · continuing at seq 3001');
  expect(readdirSync(join(dataDir, 'demo', 'snapshots')).filter((n) => n.endsWith('.manifest.json'))).toEqual(
    ['00000000000000002000.manifest.json', '00000000000000004000.manifest.json'],
  );
});
