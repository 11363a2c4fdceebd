/**
 * What a fault-suite run records (DESIGN.md "How a history is judged"), as plain data
 * the checker (checker.ts) judges afterwards: every append with its outcome, every
 * causal read with the seq it was answered at, every watch connection with what it
 * delivered, every promotion with the promoted node's state at the time, and the final
 * state of every node. Nothing here does I/O; the runner (run.ts) fills it in.
 *
 * Values identify ops: each append puts a value no other op puts (`w3-000017`: client
 * w3, its 17th op), so a value seen in the log names the op that wrote it.
 */

/** What became of one append, as its client saw it. */
export type AppendOutcome =
  /** Acknowledged: durable at `seq` under `epoch`. */
  | { readonly type: 'ok'; readonly seq: bigint; readonly epoch: bigint }
  /** Refused in a way that proves nothing was written (a typed refusal). */
  | { readonly type: 'fail'; readonly error: string }
  /** Unknown: timed out, connection lost, or `outcome: "unknown"` (it may be in the log). */
  | { readonly type: 'info'; readonly error: string; readonly seqs: readonly bigint[] };

/** One `POST /v1/append` of one put, from invoke to its outcome. */
export interface AppendOp {
  /** The value it puts: unique to this op. */
  readonly value: string;
  readonly key: string;
  readonly client: string;
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly outcome: AppendOutcome;
}

/** One `GET /v1/kv/:key?minSeq=N`. */
export interface CausalRead {
  readonly client: string;
  readonly node: string;
  readonly key: string;
  readonly minSeq: bigint;
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly outcome:
    /** Answered at applied seq `seq` with the key's value (null: no such key). */
    | { readonly type: 'ok'; readonly seq: bigint; readonly value: string | null }
    /** Refused (not applied in time, stale, unreachable): says nothing about the state. */
    | { readonly type: 'fail'; readonly error: string };
}

/** An entry as a node served it. `value` is the put's value as UTF-8 (an op's value). */
export interface LogEntry {
  readonly seq: bigint;
  readonly epoch: bigint;
  readonly type: string;
  readonly key: string;
  readonly value: string;
}

export interface SeqRange {
  readonly fromSeq: bigint;
  readonly toSeq: bigint;
}

/** One line of a watch stream that matters to the checker (heartbeats are left out). */
export type WatchEvent =
  | ({ readonly kind: 'entry' } & LogEntry)
  | ({ readonly kind: 'skipped' } & SeqRange)
  | { readonly kind: 'cut'; readonly reason: string; readonly resumeFromSeq: bigint };

/** One `GET /v1/watch?fromSeq=N` connection, from its first line to its end. */
export interface WatchStream {
  readonly node: string;
  readonly watcher: string;
  readonly fromSeq: bigint;
  readonly events: readonly WatchEvent[];
}

/** A node that became the writer, and what it was just before. */
export interface Promotion {
  readonly node: string;
  readonly epoch: bigint;
  readonly atMs: number;
  /** The node was degraded (could not see its source) when it promoted. */
  readonly degraded: boolean;
  /** The node had skipped entries or failed a checkpoint before it promoted. */
  readonly divergent: boolean;
}

/** A node at the end of the run, once faults stopped and it caught up. */
export interface NodeFinal {
  readonly node: string;
  readonly appliedSeq: bigint;
  /** The node's log as its `GET /v1/watch?fromSeq=1` gave it, in order. */
  readonly log: readonly WatchEvent[];
  /** Every key's value as the node answered it, all at applied seq `stateSeq`. */
  readonly state: ReadonlyMap<string, string>;
  readonly stateSeq: bigint;
  readonly divergent: boolean;
  readonly degraded: boolean;
  /** Set when `log` ends below appliedSeq: how its reads ended (cut reasons, attempts, time). */
  readonly shortView?: string;
}

export interface History {
  readonly appends: readonly AppendOp[];
  readonly reads: readonly CausalRead[];
  readonly watches: readonly WatchStream[];
  readonly promotions: readonly Promotion[];
  /** Ranges each node recorded as skipped during the run (its logs), by node name. */
  readonly skipsByNode: ReadonlyMap<string, readonly SeqRange[]>;
  readonly finals: readonly NodeFinal[];
}

/** Entry types the service writes itself (never an op of the workload). */
export function isServiceEntry(entry: Pick<LogEntry, 'type'>): boolean {
  return entry.type === 'checkpoint' || entry.type.startsWith('oplog.');
}

/** 64-bit FNV-1a over the state's key/value pairs in key order, as 16 hex digits. */
export function stateHash(state: ReadonlyMap<string, string>): string {
  let hash = 0xcbf29ce484222325n;
  const mix = (text: string) => {
    for (const byte of Buffer.from(text, 'utf8')) {
      hash ^= BigInt(byte);
      hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
    }
  };
  for (const key of [...state.keys()].sort()) {
    mix(key);
    mix('\u0000');
    mix(state.get(key)!);
    mix('\u0001');
  }
  return hash.toString(16).padStart(16, '0');
}
