/**
 * Codec throughput: encode and decode+verify of 256-entry batches with 512-byte values
 * (half JSON-like, half random), on the native zstd path and on zstd-codec (WASM), next
 * to a baseline measured in the same run: plain @msgpack/msgpack decoding of the same
 * entries (no checksums, no compression). Also the read path's decode of a record a
 * store has already verified (decodeVerifiedRecord: no second body hash) against
 * verify + decode of the same bytes, interleaved in the same run. Run: npm run bench:codec
 */
import { decode, encode } from '@msgpack/msgpack';
import { decodeRecord, decodeVerifiedRecord, encodeRecord, verifyRecord } from '../src/core/record-codec.js';
import { epoch } from '../src/core/types.js';
import { nativeZstd, wasmZstd } from '../src/compression/zstd.js';
import { fmt, machine, measure, table } from './harness.js';
import { workloadEntries } from './workload.js';

const BATCH = 256;
const entries = workloadEntries(1n, BATCH);
const plainMsgpack = encode(
  entries.map((e) => [e.seq, e.epoch, e.ts, e.type, e.key, e.value]),
  { useBigInt64: true },
);

const baseline = measure(() => void decode(plainMsgpack, { useBigInt64: true }));
const baselineRate = (baseline.iterations * BATCH) / baseline.seconds;
const baselineEncode = measure(
  () =>
    void encode(
      entries.map((e) => [e.seq, e.epoch, e.ts, e.type, e.key, e.value]),
      { useBigInt64: true },
    ),
);
const baselineEncodeRate = (baselineEncode.iterations * BATCH) / baselineEncode.seconds;

const rows: (string | number)[][] = [];
const readRows: (string | number)[][] = [];
for (const compression of [nativeZstd()!, await wasmZstd()]) {
  const { record } = encodeRecord({ epoch: epoch(1n), entries, compression });
  const enc = measure(() => void encodeRecord({ epoch: epoch(1n), entries, compression }));
  const dec = measure(() => void decodeRecord(record.bytes, compression));
  const encRate = (enc.iterations * BATCH) / enc.seconds;
  const decRate = (dec.iterations * BATCH) / dec.seconds;
  // The read path: a store verified the record once; the standby decodes it.
  const verified = verifyRecord(record.bytes);
  const rounds: number[] = [];
  let onceRate = 0;
  let twiceRate = 0;
  for (let round = 0; round < 5; round++) {
    const twice = measure(() => void decodeRecord(record.bytes, compression), { minMs: 300, warmupMs: 50 });
    const once = measure(() => void decodeVerifiedRecord(verified, compression), {
      minMs: 300,
      warmupMs: 50,
    });
    twiceRate = (twice.iterations * BATCH) / twice.seconds;
    onceRate = (once.iterations * BATCH) / once.seconds;
    rounds.push(onceRate / twiceRate);
  }
  rounds.sort((a, b) => a - b);
  readRows.push([compression.name, fmt(twiceRate), fmt(onceRate), fmt(rounds[2]!, 2)]);
  rows.push([
    compression.name,
    fmt(encRate),
    fmt(encRate / baselineEncodeRate, 2),
    fmt(decRate),
    fmt(decRate / baselineRate, 2),
    `${fmt(record.rawBytes / record.bodyBytes, 2)} (${record.rawBytes} → ${record.bytes.length} B)`,
  ]);
}

console.log(`### codec — ${machine()}\n`);
console.log(`Batch: ${BATCH} entries × 512-byte values (half JSON-like, half random).`);
console.log(
  `Baseline (same run): plain @msgpack/msgpack decode ${fmt(baselineRate)} entries/s, encode ${fmt(baselineEncodeRate)} entries/s.\n`,
);
console.log(
  table(
    [
      'zstd path',
      'encode entries/s',
      'encode / msgpack',
      'decode+verify entries/s',
      'decode+verify / msgpack',
      'compression ratio',
    ],
    rows,
  ),
);
console.log(
  `\nRead path (5 interleaved rounds; the ratio is their median): decode of a store-verified record,\n` +
    `one body hash in all (the store's), against verify + decode of the same bytes (two).\n`,
);
console.log(
  table(
    [
      'zstd path',
      'verify + decode entries/s',
      'decode verified entries/s',
      'decode verified / verify + decode',
    ],
    readRows,
  ),
);
