/**
 * Throughput, closed loop: 1…256 concurrent callers of PrimaryWriter.append, one entry
 * each, for every setup and value size. Baselines on the same store in the same run:
 * the same writer with `batchEntriesMax: 1` (no group commit: one record per entry;
 * the pipeline depth and the store's own grouping of queued appends stay), and, for the
 * file store, each entry's record bytes written to a plain file + fdatasync by as many
 * callers (what the disk gives an application that syncs every append). The variants
 * run interleaved, in rotating order, `rounds` times; the figures are medians.
 */
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeRecord } from '../../core/record-codec.js';
import { epoch, seq } from '../../core/types.js';
import { PrimaryWriter } from '../../primary/primary-writer.js';
import { CountingStore } from '../counting-store.js';
import { closedLoop, type ClosedLoopResult } from '../loops.js';
import { median, type BenchPlan } from '../plan.js';
import { ratio, type Rate, type ThroughputRow } from '../results.js';
import { fileDirOf, openSetup, type OpenedStores, type Setup } from '../targets.js';
import { Workload } from '../workload.js';

interface Variant {
  readonly name: 'ours' | 'noGroupCommit' | 'rawFdatasync';
  run(clients: number): Promise<ClosedLoopResult>;
}

export async function throughputScenario(plan: BenchPlan): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const setup of plan.setups)
    for (const valueBytes of plan.valueBytes) rows.push(...(await oneSize(plan, setup, valueBytes)));
  return rows;
}

async function oneSize(plan: BenchPlan, setup: Setup, valueBytes: number): Promise<ThroughputRow[]> {
  const workload = new Workload(valueBytes);
  const opened: OpenedStores[] = [];
  const writers: PrimaryWriter[] = [];
  const closers: (() => Promise<void>)[] = [];
  try {
    const startWriter = async (label: string, batchEntriesMax?: number) => {
      const stores = await openSetup(setup, plan.ids.take(`tp-${label}-${valueBytes}`));
      opened.push(stores);
      const counting = stores.stores.map((s) => new CountingStore(s));
      const writer = await PrimaryWriter.start({
        stores: counting,
        compression: plan.compression,
        ...(batchEntriesMax === undefined ? {} : { limits: { batchEntriesMax } }),
      });
      writers.push(writer);
      return { writer, counting: counting[0]! };
    };
    const ours = await startWriter('ours');
    const noGroup = await startWriter('nogc', 1);
    const loop = (writer: PrimaryWriter) => {
      let next = 0;
      return (clients: number) =>
        closedLoop(() => writer.append(workload.op(next++)), {
          clients,
          durationMs: plan.caseMs,
          warmupMs: plan.warmupMs,
        });
    };
    const variants: Variant[] = [
      { name: 'ours', run: loop(ours.writer) },
      { name: 'noGroupCommit', run: loop(noGroup.writer) },
    ];
    if (setup.name === 'file') {
      const raw = await rawFdatasync(plan, fileDirOf(setup) ?? plan.workDir, workload, valueBytes);
      closers.push(raw.close);
      variants.push({ name: 'rawFdatasync', run: raw.run });
    }
    const rows: ThroughputRow[] = [];
    for (const clients of plan.clients) {
      ours.counting.resetCounts();
      const results = await interleave(variants, clients, plan.rounds);
      const oursRate = results.get('ours')!;
      const noGroupRate = results.get('noGroupCommit')!;
      const rawRate = results.get('rawFdatasync');
      const entriesPerRecord = ratio(ours.counting.entries, ours.counting.records);
      rows.push({
        store: setup.name,
        valueBytes,
        clients,
        ours: toRate(oursRate.rate, valueBytes),
        oursRecordsPerS: ratio(oursRate.rate.entriesPerS, entriesPerRecord),
        oursEntriesPerRecord: entriesPerRecord,
        noGroupCommit: toRate(noGroupRate.rate, valueBytes),
        ...(rawRate === undefined ? {} : { rawFdatasync: toRate(rawRate.rate, valueBytes) }),
        oursOverNoGroupCommit: median(oursRate.perRound.map((r, i) => ratio(r, noGroupRate.perRound[i]!))),
        ...(rawRate === undefined
          ? {}
          : {
              oursOverRawFdatasync: median(oursRate.perRound.map((r, i) => ratio(r, rawRate.perRound[i]!))),
            }),
      });
      const last = rows.at(-1)!;
      plan.progress(
        `throughput ${setup.name} ${valueBytes} B × ${clients} clients: ours ${Math.round(last.ours.entriesPerS)}/s, no group commit ${Math.round(last.noGroupCommit.entriesPerS)}/s${last.rawFdatasync === undefined ? '' : `, raw fdatasync ${Math.round(last.rawFdatasync.entriesPerS)}/s`}`,
      );
    }
    return rows;
  } finally {
    for (const writer of writers) await writer.close({ drainMs: 10_000 });
    for (const close of closers) await close();
    for (const stores of opened) await stores.dispose();
  }
}

interface Measured {
  /** The median round's result (by entries/s). */
  readonly rate: { ops: number; seconds: number; entriesPerS: number; p50Ms: number; p99Ms: number };
  /** entries/s of each round, in round order. */
  readonly perRound: number[];
}

/** Runs every variant `rounds` times, rotating which goes first; the median round of each. */
async function interleave(variants: readonly Variant[], clients: number, rounds: number) {
  const perRound = new Map<string, ClosedLoopResult[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++)
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(round + k) % variants.length]!;
      perRound.get(variant.name)!.push(await variant.run(clients));
    }
  const out = new Map<string, Measured>();
  for (const [name, results] of perRound) {
    const rates = results.map((r) => ratio(r.ops, r.seconds));
    const middle = results[rates.indexOf(median(rates))]!;
    out.set(name, {
      rate: {
        ops: middle.ops,
        seconds: middle.seconds,
        entriesPerS: ratio(middle.ops, middle.seconds),
        p50Ms: middle.latency.p50Ms,
        p99Ms: middle.latency.p99Ms,
      },
      perRound: rates,
    });
  }
  return out;
}

function toRate(rate: Measured['rate'], valueBytes: number): Rate {
  return {
    ops: rate.ops,
    seconds: rate.seconds,
    entriesPerS: rate.entriesPerS,
    valueMbPerS: (rate.entriesPerS * valueBytes) / 1e6,
    p50Ms: rate.p50Ms,
    p99Ms: rate.p99Ms,
  };
}

/**
 * A plain file in the work dir: each op writes one entry's record bytes (the size of a
 * one-entry record of this workload) at the next offset and fdatasyncs, `clients` ops
 * at a time. The kernel may serve concurrent fdatasyncs of one file with one flush.
 */
async function rawFdatasync(plan: BenchPlan, dir: string, workload: Workload, valueBytes: number) {
  const recordBytes = Math.round(
    (oneEntryRecordBytes(plan, workload, 0) + oneEntryRecordBytes(plan, workload, 1)) / 2,
  );
  const path = join(dir, `oplog-bench-raw-${valueBytes}-${process.pid}.log`);
  const fh = await open(path, 'w');
  const payload = Buffer.alloc(recordBytes, 7);
  let offset = 0;
  return {
    run: (clients: number) =>
      closedLoop(
        async () => {
          const at = offset;
          offset += payload.length;
          await fh.write(payload, 0, payload.length, at);
          await fh.datasync();
        },
        { clients, durationMs: plan.caseMs, warmupMs: plan.warmupMs },
      ),
    close: async () => {
      await fh.close();
      await rm(path, { force: true });
    },
  };
}

function oneEntryRecordBytes(plan: BenchPlan, workload: Workload, index: number): number {
  const op = workload.op(index);
  const entry = { ...op, seq: seq(1n), epoch: epoch(1n), ts: 1_700_000_000_000 };
  return encodeRecord({ epoch: epoch(1n), entries: [entry], compression: plan.compression }).record.bytes
    .length;
}
