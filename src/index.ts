/** The public API of oplog. Everything importable is exported from here. */
export * from './core/errors.js';
export * from './core/types.js';
export * from './core/limits.js';
export { validateClusterId } from './core/cluster-id.js';
export type { Compression, CodecId } from './core/compression.js';
export { CODEC_NONE, CODEC_ZSTD } from './core/compression.js';
export { validateOp, entryChecksum, type EntryFields } from './core/entry-codec.js';
export {
  encodeRecord,
  decodeRecord,
  verifyRecord,
  parseRecordHeader,
  FORMAT_VERSION,
  HEADER_BYTES,
  type BatchRecord,
  type RecordHeader,
} from './core/record-codec.js';
export { loadZstd, nativeZstd, wasmZstd } from './compression/zstd.js';
