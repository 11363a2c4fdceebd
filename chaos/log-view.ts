/**
 * Everything a history says about the log, in one index: each seq with every entry
 * anyone saw there (a watch line, a node's final log, an append's acknowledgement),
 * and each op's value with every seq it was seen at. The checker asks it "what is at
 * seq N", "where is value V", and replays it in seq order for the expected state.
 */
import type { History, LogEntry } from './history.js';
import { isServiceEntry } from './history.js';

/** Where an observation came from: `ack w3`, `watch n2/r1`, `final n2`. */
export type Source = string;

export interface Observed {
  readonly entry: LogEntry;
  readonly sources: Source[];
}

/** Two observations are of the same entry when every field matches. */
function identity(entry: LogEntry): string {
  return `${entry.epoch}\u0000${entry.type}\u0000${entry.key}\u0000${entry.value}`;
}

export class LogView {
  /** seq → the distinct entries seen there (more than one: inconsistent). */
  readonly bySeq = new Map<bigint, Map<string, Observed>>();
  /** An op's value → the seqs the log holds it at (acks excluded). */
  readonly seqsByValue = new Map<string, Set<bigint>>();

  static of(history: History): LogView {
    const view = new LogView();
    for (const op of history.appends)
      if (op.outcome.type === 'ok')
        view.add(
          { seq: op.outcome.seq, epoch: op.outcome.epoch, type: 'put', key: op.key, value: op.value },
          `ack ${op.client}`,
          false,
        );
    for (const stream of history.watches)
      for (const event of stream.events)
        if (event.kind === 'entry') view.add(event, `watch ${stream.node}/${stream.watcher}`, true);
    for (const final of history.finals)
      for (const event of final.log) if (event.kind === 'entry') view.add(event, `final ${final.node}`, true);
    return view;
  }

  private add(entry: LogEntry, source: Source, inLog: boolean): void {
    let atSeq = this.bySeq.get(entry.seq);
    if (atSeq === undefined) this.bySeq.set(entry.seq, (atSeq = new Map()));
    const id = identity(entry);
    const seen = atSeq.get(id);
    if (seen === undefined) atSeq.set(id, { entry: stripped(entry), sources: [source] });
    else if (!seen.sources.includes(source)) seen.sources.push(source);
    if (!inLog || isServiceEntry(entry)) return;
    let seqs = this.seqsByValue.get(entry.value);
    if (seqs === undefined) this.seqsByValue.set(entry.value, (seqs = new Set()));
    seqs.add(entry.seq);
  }

  /** The entry at `seq` when the history agrees on one; undefined when unseen or disputed. */
  at(seq: bigint): LogEntry | undefined {
    const atSeq = this.bySeq.get(seq);
    if (atSeq === undefined || atSeq.size !== 1) return undefined;
    return atSeq.values().next().value!.entry;
  }

  /** The highest seq anyone saw. */
  get lastSeq(): bigint {
    let last = 0n;
    for (const seq of this.bySeq.keys()) if (seq > last) last = seq;
    return last;
  }

  /**
   * The key-value state after each seq, in seq order from 1: calls `visit(seq, state)`
   * after applying seq (the state is live: copy what you keep). Stops at the first seq
   * nobody saw or the history disputes, since the state past it is not known.
   */
  replay(visit: (seq: bigint, state: ReadonlyMap<string, string>) => void): bigint {
    const state = new Map<string, string>();
    const last = this.lastSeq;
    for (let seq = 1n; seq <= last; seq++) {
      const entry = this.at(seq);
      if (entry === undefined) return seq - 1n;
      if (entry.type === 'put') state.set(entry.key, entry.value);
      else if (entry.type === 'delete') state.delete(entry.key);
      visit(seq, state);
    }
    return last;
  }
}

/** Only the entry's fields: a watch event's `kind` tag must not leak in. */
function stripped(entry: LogEntry): LogEntry {
  return { seq: entry.seq, epoch: entry.epoch, type: entry.type, key: entry.key, value: entry.value };
}
