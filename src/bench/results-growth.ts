/**
 * The growth rows of a results file (results.ts holds the rest): how the cost of a
 * snapshot and of a restore grows with the state, and how much memory a standby's
 * pending buffer holds as it fills. Same conventions as results.ts: seconds of wall
 * clock, sizes in bytes, every ratio against a baseline measured in the same run
 * (0 when the baseline is 0), a figure not measured absent.
 */

/** Taking and restoring a snapshot of a KvStateMachine of `keys` keys of `valueBytes` each. */
export interface SnapshotRow {
  readonly keys: number;
  readonly valueBytes: number;
  /** The state image (msgpack, uncompressed) and the stored body (zstd). */
  readonly imageBytes: number;
  readonly bodyBytes: number;
  /** Taking it as a standby does (Standby.takeSnapshot): pause, then save. */
  readonly takeSeconds: number;
  /** Of which: the image and the state hash, taken synchronously (nothing is applied meanwhile). */
  readonly pauseSeconds: number;
  /** Of which: FileSnapshotStore.save (compress, write body and manifest atomically with fsyncs). */
  readonly saveSeconds: number;
  /** Restoring it into a fresh KvStateMachine: load, then restore with the hash check. */
  readonly restoreSeconds: number;
  /** Of which: FileSnapshotStore.load (read, size and xxh64 check, decompress). */
  readonly loadSeconds: number;
  /** Of which (timed again alone): the restored state's hash, checked against the manifest. */
  readonly restoreHashSeconds: number;
  /** Baseline: the stored body's bytes written to a plain file + fsync. */
  readonly rawWriteSeconds: number;
  /** Baseline: the stored body read back from that file (page cache). */
  readonly rawReadSeconds: number;
  readonly takeKeysPerS: number;
  readonly restoreKeysPerS: number;
  /** Take's keys/s over the raw write's (the body's bytes written as keys/s). */
  readonly takeOverRawWrite: number;
  /** Restore's keys/s over the raw read's. */
  readonly restoreOverRawRead: number;
}

/**
 * Memory a standby's pending buffer holds: `pendingEntries` entries (seqs 2…) behind a
 * gap at seq 1, delivered as decoded records into a StandbyCore with the standby's
 * default limits, measured after a full GC as growth over the empty buffer.
 */
export interface PendingMemoryRow {
  /** The applier's bound in entries (the standby default) and the fill measured, 0…1. */
  readonly pendingEntriesMax: number;
  readonly fillFraction: number;
  readonly pendingEntries: number;
  readonly valueBytes: number;
  /** The applier's own footprint estimate, the figure pendingBytesMax bounds. */
  readonly pendingBytesEstimate: number;
  /** V8 heap used, over the empty buffer's. */
  readonly heapUsedBytes: number;
  /** ArrayBuffer memory (the copied values), over the empty buffer's. */
  readonly arrayBuffersBytes: number;
  /** heapUsedBytes + arrayBuffersBytes. */
  readonly totalBytes: number;
  /** Baseline: the entries' value bytes alone (pendingEntries × valueBytes). */
  readonly valueBytesTotal: number;
  /** totalBytes ÷ pendingEntries (absent when empty). */
  readonly bytesPerEntry?: number;
  /** totalBytes ÷ valueBytesTotal: what holding an entry costs beyond its value. */
  readonly totalOverValueBytes: number;
  /** totalBytes ÷ pendingBytesEstimate: above 1, the applier's bound under-counts. */
  readonly totalOverEstimate: number;
}
