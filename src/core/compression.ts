/**
 * The compression port used by the record codec. The core stays free of native
 * loaders: the shell injects an implementation (native zstd, or zstd-codec's WASM).
 * Every implementation must read the others' frames.
 */
export interface Compression {
  /** Short name for logs and benchmarks, e.g. `zstd-napi` or `zstd-codec`. */
  readonly name: string;
  /** A zstd frame that records its content size. */
  compress(raw: Uint8Array): Uint8Array;
  /** Inverse of compress. The caller has already bounded `rawBytes`. */
  decompress(frame: Uint8Array, rawBytes: number): Uint8Array;
}

/** Codec ids stored in the record header. Frozen: part of the wire format. */
export const CODEC_NONE = 0;
export const CODEC_ZSTD = 1;
export type CodecId = typeof CODEC_NONE | typeof CODEC_ZSTD;
