/**
 * `oplog inspect`: prints a store's records (and with `--entries` every entry) from a
 * seq, verified and decoded exactly as a standby would.
 */
import type { Command } from 'commander';
import { loadZstd } from '../compression/zstd.js';
import { CODEC_ZSTD } from '../core/compression.js';
import { decodeVerifiedRecord } from '../core/record-codec.js';
import { seq as toSeq, type Entry } from '../core/types.js';
import { examples, runSubcommand, subcommand, type CliIo } from './command.js';
import { choiceOption, integerOption, seqOption } from './flags.js';
import {
  addStoreOptions,
  openStore,
  STORE_KINDS,
  stopReason,
  type StoreFlags,
  type StoreKind,
} from './stores.js';

const PREVIEW_CHARS = 48;
/** Most records one `inspect` prints. */
export const INSPECT_LIMIT_MAX = 100_000;

interface InspectFlags extends StoreFlags {
  readonly store: StoreKind;
  readonly fromSeq: bigint;
  readonly limit: number;
  readonly entries: boolean;
}

export function defineInspect(io: CliIo): Command {
  const command = subcommand<InspectFlags>('inspect', io, run)
    .description("print a store's records from a seq (with --entries, every entry), verified and decoded")
    .addOption(choiceOption('--store <kind>', 'which store to read', STORE_KINDS, 'file'));
  return addStoreOptions(command)
    .addOption(
      seqOption('--from-seq <seq>', 'start at the record covering this seq', { min: 1n, default: 1n }),
    )
    .addOption(
      integerOption('--limit <records>', 'print at most this many records', {
        min: 1,
        max: INSPECT_LIMIT_MAX,
        default: 20,
      }),
    )
    .option('--entries', 'print every entry below its record', false)
    .addHelpText(
      'after',
      examples(
        ['oplog inspect --data-dir ./data --cluster-id orders', 'the first 20 records of the file store'],
        [
          'oplog inspect --data-dir ./data --from-seq 5000 --limit 2 --entries',
          'two records from seq 5000, with their entries',
        ],
        ['oplog inspect --store etcd --etcd 127.0.0.1:2379 --cluster-id orders', 'the same on etcd'],
      ) +
        '\nExit codes: 0 printed; 1 a damaged record or an unreachable store; 2 bad input or no such log.\n',
    );
}

/** `oplog inspect ARGS`, for tests and embedding: typed errors propagate. */
export function inspectCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return runSubcommand(defineInspect(io), argv);
}

async function run(flags: InspectFlags, io: CliIo): Promise<number> {
  const compression = await loadZstd();
  const store = await openStore(flags.store, flags);
  try {
    const head = await store.head();
    io.out(`${store.kind} log · head seq ${head.lastSeq} · epoch ${await store.currentEpoch()}`);
    for await (const record of store.read(toSeq(flags.fromSeq), flags.limit)) {
      const entries = decodeVerifiedRecord(record, compression);
      const codec = record.codec === CODEC_ZSTD ? `zstd, ${record.rawBytes} bytes raw` : 'uncompressed';
      io.out(
        `record seq ${record.firstSeq}..${record.lastSeq} · epoch ${record.epoch} · ${record.entryCount} entries · ${record.bytes.length} bytes (${codec})`,
      );
      if (flags.entries) for (const entry of entries) io.out(`  ${describeEntry(entry)}`);
    }
    const cut = stopReason(store);
    if (cut !== undefined) io.err(`warning: ${cut}`);
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
