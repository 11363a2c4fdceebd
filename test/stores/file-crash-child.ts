/**
 * Child process for the file-store crash test: opens the log as its writer, continues
 * at head + 1, appends records of 1..7 entries (two in flight at a time) whose values
 * are a function of their seq, and prints `ack <lastSeq>` once each append resolves.
 * The parent kill -9s it at a random moment. Stops by itself after 3,000 records.
 */
import { encodeRecord } from '../../src/core/record-codec.js';
import { epoch as toEpoch } from '../../src/core/types.js';
import { FileLogStore } from '../../src/stores/file/file-store.js';
import { fields, testCompression } from '../helpers/entries.js';

const [dataDir, clusterId] = process.argv.slice(2);
const store = await FileLogStore.open({
  dataDir: dataDir!,
  clusterId: clusterId!,
  segmentBytesMax: 64 * 1024,
});
let epoch = await store.currentEpoch();
if (epoch === 0n) {
  epoch = toEpoch(1n);
  await store.fence(epoch);
}
const compression = testCompression();
let next = (await store.head()).lastSeq + 1n;
process.stdout.write(`ready ${next}\n`);

function recordAt(firstSeq: bigint) {
  const count = 1 + Number(firstSeq % 7n);
  const entries = Array.from({ length: count }, (_, i) =>
    fields(firstSeq + BigInt(i), epoch, `k${firstSeq + BigInt(i)}`, crashValue(firstSeq + BigInt(i))),
  );
  return encodeRecord({ epoch, entries, compression }).record;
}

const inFlight: Promise<void>[] = [];
for (let i = 0; i < 3_000; i++) {
  const record = recordAt(next);
  next = record.lastSeq + 1n;
  inFlight.push(store.append(record, epoch).then(() => void process.stdout.write(`ack ${record.lastSeq}\n`)));
  if (inFlight.length >= 2) await inFlight.shift();
}
await Promise.all(inFlight);
await store.close();

export function crashValue(seq: bigint): string {
  return `value-${seq}-${'x'.repeat(Number(seq % 50n))}`;
}
