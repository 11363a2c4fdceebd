/**
 * Crash safety of the file store with real processes: a child appends and reports each
 * acknowledged seq; the parent kill -9s it at a random moment (seeded), reopens the
 * log, and checks that every acknowledged seq is present exactly once with the value
 * the child wrote, the tail is clean (reopen verified every record), that the recovery
 * point covers every acknowledged seq (a cut tail never holds one), and that the next
 * child continues at the right seq. OPLOG_CRASH_KILLS sets the number of kills (50).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { decodeRecord } from '../../src/core/record-codec.js';
import { seq } from '../../src/core/types.js';
import { FileLogStore } from '../../src/stores/file/file-store.js';
import { testCompression } from '../helpers/entries.js';
import { Prng } from '../helpers/prng.js';

const kills = Number(process.env['OPLOG_CRASH_KILLS'] ?? '50');
const dataDir = mkdtempSync(join(tmpdir(), 'oplog-crash-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const decoder = new TextDecoder();

interface ChildRun {
  readonly startSeq: bigint;
  readonly ackedSeq: bigint;
}

/** Starts a child, waits for `ready`, lets it run `runMs`, kill -9s it, returns what it acknowledged. */
function runAndKill(runMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'file-crash-child.ts'), dataDir, 'crash'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let buffered = '';
    let startSeq: bigint | undefined;
    let ackedSeq = 0n;
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const [word, value] = buffered.slice(0, newline).split(' ');
        buffered = buffered.slice(newline + 1);
        if (word === 'ready') {
          startSeq = BigInt(value!);
          setTimeout(() => child.kill('SIGKILL'), runMs);
        } else if (word === 'ack') ackedSeq = BigInt(value!);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (startSeq === undefined)
        reject(new Error(`child exited before ready (code ${code}, signal ${signal})`));
      else resolve({ startSeq, ackedSeq });
    });
  });
}

it(`keeps every acknowledged record across ${kills} kill -9s`, async () => {
  const rng = new Prng(20261122);
  const compression = testCompression();
  let ackedMax = 0n;
  let checkedUpTo = 0n;
  let totalAcks = 0n;
  let tornTails = 0;
  for (let kill = 0; kill < kills; kill++) {
    const run = await runAndKill(rng.int(0, 60));
    // The new child continues right after everything durable from before.
    expect(run.startSeq).toBeGreaterThan(ackedMax);
    if (run.ackedSeq > 0n) {
      totalAcks += run.ackedSeq - run.startSeq + 1n;
      ackedMax = run.ackedSeq;
    }
    const store = await FileLogStore.open({
      dataDir,
      clusterId: 'crash',
      segmentBytesMax: 64 * 1024,
      warn: () => undefined, // a cut tail is expected here; it is checked below
    });
    const head = await store.head();
    expect(head.lastSeq).toBeGreaterThanOrEqual(ackedMax);
    // The recovery point covers every acknowledged record: a cut tail holds none of them.
    const { tornTail, recoveryPoint } = store.recovery;
    if (tornTail !== undefined) {
      tornTails++;
      expect(tornTail.fromSeq).toBeGreaterThan(ackedMax);
    }
    expect(recoveryPoint?.lastSeq).toBeGreaterThanOrEqual(ackedMax);
    let expected = checkedUpTo + 1n;
    for await (const record of store.read(seq(expected))) {
      if (record.lastSeq < expected) continue;
      expect(record.firstSeq).toBe(expected);
      for (const entry of decodeRecord(record.bytes, compression).entries) {
        expect(entry.seq).toBe(expected);
        expect(decoder.decode(entry.value)).toBe(`value-${expected}-${'x'.repeat(Number(expected % 50n))}`);
        expected++;
      }
    }
    expect(expected - 1n).toBe(head.lastSeq);
    checkedUpTo = head.lastSeq;
    await store.close();
  }
  // The kills must have landed mid-stream, not only before the first append.
  expect(totalAcks).toBeGreaterThan(BigInt(kills));
  console.log(`${kills} kills, ${totalAcks} acknowledged seqs, ${tornTails} torn tails cut`);
}, 600_000);
