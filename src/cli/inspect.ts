/**
 * `oplog inspect`: prints a store's records (and with `--entries` every entry) from a
 * seq, verified and decoded exactly as a standby would.
 *
 *   oplog inspect [--store file|etcd|kafka] (--data-dir DIR | --etcd H:P | --kafka H:P)
 *                 [--cluster-id ID] [--from-seq N] [--limit RECORDS] [--entries]
 */
import { parseArgs } from 'node:util';
import { loadZstd } from '../compression/zstd.js';
import { CODEC_ZSTD } from '../core/compression.js';
import { InvalidInputError } from '../core/errors.js';
import { decodeRecord } from '../core/record-codec.js';
import { seq as toSeq, type Entry } from '../core/types.js';
import { openStore, STORE_OPTIONS } from './stores.js';

const PREVIEW_CHARS = 48;

export async function inspectCommand(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...STORE_OPTIONS,
      store: { type: 'string', default: 'file' },
      'from-seq': { type: 'string', default: '1' },
      limit: { type: 'string', default: '20' },
      entries: { type: 'boolean', default: false },
    },
  });
  const fromSeq = decimal('--from-seq', values['from-seq'], 1n);
  const limit = Number(decimal('--limit', values.limit, 1n));
  const compression = await loadZstd();
  const store = await openStore(values.store, values);
  try {
    const head = await store.head();
    out(`${store.kind} log · head seq ${head.lastSeq} · epoch ${await store.currentEpoch()}`);
    for await (const record of store.read(toSeq(fromSeq), limit)) {
      const { entries } = decodeRecord(record.bytes, compression);
      const codec = record.codec === CODEC_ZSTD ? `zstd, ${record.rawBytes} bytes raw` : 'uncompressed';
      out(
        `record seq ${record.firstSeq}..${record.lastSeq} · epoch ${record.epoch} · ${record.entryCount} entries · ${record.bytes.length} bytes (${codec})`,
      );
      if (values.entries) for (const entry of entries) out(`  ${describeEntry(entry)}`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

function describeEntry(entry: Entry): string {
  const when = Number.isFinite(entry.ts) ? new Date(entry.ts).toISOString() : String(entry.ts);
  return `seq ${entry.seq} · epoch ${entry.epoch} · ${when} · ${entry.type} ${JSON.stringify(entry.key)} · ${entry.value.length} bytes${entry.value.length > 0 ? `: ${preview(entry.value)}` : ''}`;
}

/** Printable UTF-8 as a quoted prefix, anything else as hex. */
function preview(value: Uint8Array): string {
  const head = value.subarray(0, PREVIEW_CHARS);
  const text = Buffer.from(head).toString('utf8');
  const printable = [...text].every(
    (c) => c !== '\ufffd' && (c >= ' ' || c === '\t' || c === '\n' || c === '\r'),
  );
  const more = value.length > head.length ? '…' : '';
  return printable ? `${JSON.stringify(text)}${more}` : `0x${Buffer.from(head).toString('hex')}${more}`;
}

function decimal(flag: string, text: string, min: bigint): bigint {
  if (!/^\d{1,20}$/.test(text) || BigInt(text) < min || BigInt(text) >= 2n ** 64n)
    throw new InvalidInputError(flag, `must be an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return BigInt(text);
}
