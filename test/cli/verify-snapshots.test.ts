/**
 * `oplog verify` checks snapshots too (issue 12, item 2): those beside the file store
 * under --data-dir, or under --snapshot-dir; each is read as replay would use it
 * (manifest, body size and checksum, restored state hash), and a damaged one fails
 * the run (exit 1) on a line naming its seq and file.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { demo } from '../../src/cli/demo.js';
import { runCli } from '../../src/cli/program.js';

const root = mkdtempSync(join(tmpdir(), 'oplog-verify-snapshots-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const silent = { out: () => {}, err: () => {} };
const bodyName = (seq: number) => `${String(seq).padStart(20, '0')}.body`;
const manifestName = (seq: number) => `${String(seq).padStart(20, '0')}.manifest.json`;

/** A log of seq 1..4000 with snapshots at 2000 and 4000 (two demo runs). */
const original = join(root, 'original');
beforeAll(async () => {
  for (let run = 0; run < 2; run++)
    expect(await demo(['--entries', '2000', '--keys', '300', '--data-dir', original], silent)).toBe(0);
});

let copies = 0;
/** A copy of the data dir to damage; returns it and its snapshots directory. */
function copy(): { dataDir: string; snapshots: string } {
  const dataDir = join(root, `copy-${copies++}`);
  cpSync(original, dataDir, { recursive: true });
  return { dataDir, snapshots: join(dataDir, 'demo', 'snapshots') };
}

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

it('sound snapshots beside the file store are listed and pass', async () => {
  const { code, out } = await cli(['verify', '--data-dir', original]);
  expect(code).toBe(0);
  expect(out[0]).toMatch(/^file: seq 1\.\.4000 · /);
  expect(out[1]).toBe(`snapshots: 2 under ${join(original, 'demo', 'snapshots')}`);
  expect(out[2]).toMatch(
    /^snapshot at seq 2000: sound \(epoch 1, \d+ keys, \d+ bytes, state hash [0-9a-f]{16}\)$/,
  );
  expect(out[3]).toMatch(/^snapshot at seq 4000: sound \(epoch 2, \d+ keys, /);
  expect(out.at(-1)).toBe('OK');
});

it.each([
  [
    'a flipped byte in a body',
    (dir: string) => {
      const path = join(dir, bodyName(4000));
      const bytes = readFileSync(path);
      bytes[bytes.length >> 1]! ^= 0x01;
      writeFileSync(path, bytes);
    },
    /^snapshot at seq 4000: DAMAGED .*00000000000000004000\.body: OPLOG_CHECKSUM_MISMATCH snapshot-body checksum mismatch at seq 4000/,
  ],
  [
    'a truncated body',
    (dir: string) => truncateSync(join(dir, bodyName(4000)), 3),
    /^snapshot at seq 4000: DAMAGED .*: OPLOG_MALFORMED malformed snapshot body .* \(3 bytes, manifest says \d+\)/,
  ],
  [
    'a manifest that is not JSON',
    (dir: string) => writeFileSync(join(dir, manifestName(4000)), '{"format"'),
    /^snapshot at seq 4000: DAMAGED manifest .*00000000000000004000\.manifest\.json: OPLOG_MALFORMED .*not JSON/,
  ],
  [
    'a state hash the body does not restore to',
    (dir: string) => {
      const path = join(dir, manifestName(2000));
      const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      writeFileSync(path, JSON.stringify({ ...manifest, stateHash: 'ffffffffffffffff' }));
    },
    /^snapshot at seq 2000: DAMAGED .*: OPLOG_INTEGRITY integrity failure at seq 2000: snapshot restored to state hash [0-9a-f]{16}, manifest says ffffffffffffffff/,
  ],
])('%s fails the run (exit 1), naming the snapshot', async (_name, damage, line) => {
  const { dataDir, snapshots } = copy();
  damage(snapshots);
  for (const argv of [
    ['verify', '--data-dir', dataDir],
    ['verify', '--snapshot-dir', dataDir], // the snapshots alone
  ]) {
    const { code, out } = await cli(argv);
    expect(code, argv.join(' ')).toBe(1);
    expect(out.filter((l) => l.includes('DAMAGED'))).toEqual([expect.stringMatching(line)]);
    expect(out.at(-1)).toBe('FAILED');
  }
});

it('a snapshot ahead of the log it sits beside fails the run', async () => {
  const { dataDir } = copy();
  // Another cluster's log, shorter than these snapshots: 1..2000.
  expect(
    await demo(
      ['--entries', '2000', '--keys', '300', '--data-dir', dataDir, '--cluster-id', 'short'],
      silent,
    ),
  ).toBe(0);
  cpSync(
    join(original, 'demo', 'snapshots', bodyName(4000)),
    join(dataDir, 'short', 'snapshots', bodyName(4000)),
  );
  const manifest = JSON.parse(
    readFileSync(join(original, 'demo', 'snapshots', manifestName(4000)), 'utf8'),
  ) as Record<string, unknown>;
  writeFileSync(
    join(dataDir, 'short', 'snapshots', manifestName(4000)),
    JSON.stringify({ ...manifest, clusterId: 'short' }),
  );
  const { code, out } = await cli(['verify', '--data-dir', dataDir, '--cluster-id', 'short']);
  expect(code).toBe(1);
  expect(out).toContain('snapshot at seq 4000: ahead of the file log (head 2000)');
});

it("--snapshot-dir without the cluster's snapshots is bad input (exit 2)", async () => {
  const { code, err } = await cli(['verify', '--snapshot-dir', join(root, 'nowhere')]);
  expect(code).toBe(2);
  expect(err[0]).toMatch(
    /^oplog: \[OPLOG_INVALID_INPUT\] invalid --snapshot-dir: no snapshots of cluster demo under /,
  );
});
