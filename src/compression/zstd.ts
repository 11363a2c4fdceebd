/**
 * zstd implementations of the core's {@link Compression} port.
 *
 * - `zstd-napi`: native libzstd, built from bundled source at install; the fast path.
 * - `zstd-codec`: libzstd compiled to WASM; always installs, ~slower. Its heap aborts
 *   near 8 MiB, which is why RAW_BODY_BYTES_MAX (≈4 MiB) bounds every call.
 *
 * Both write frames with the content size set, and each reads the other's frames
 * (tested in test/compression/zstd.test.ts).
 */
import { createRequire } from 'node:module';
import type { Compression } from '../core/compression.js';

/** zstd level used for record bodies: level 3 is zstd's default speed/ratio balance. */
export const ZSTD_LEVEL = 3;

const require = createRequire(import.meta.url);

interface NativeZstd {
  Compressor: new () => {
    compress(b: Uint8Array): Uint8Array;
    setParameters(p: { compressionLevel: number; contentSizeFlag: boolean }): void;
  };
  Decompressor: new () => { decompress(b: Uint8Array): Uint8Array };
}

/** Native zstd, or undefined when `zstd-napi` did not build on this machine. */
export function nativeZstd(): Compression | undefined {
  let binding: NativeZstd;
  try {
    binding = require('zstd-napi') as NativeZstd;
  } catch {
    return undefined;
  }
  const compressor = new binding.Compressor();
  compressor.setParameters({ compressionLevel: ZSTD_LEVEL, contentSizeFlag: true });
  const decompressor = new binding.Decompressor();
  return {
    name: 'zstd-napi',
    compress: (raw) => compressor.compress(raw),
    decompress: (frame) => decompressor.decompress(frame),
  };
}

interface ZstdCodecModule {
  ZstdCodec: { run(callback: (zstd: { Simple: new () => WasmSimple }) => void): void };
}
interface WasmSimple {
  compress(raw: Uint8Array, level: number): Uint8Array | null;
  decompress(frame: Uint8Array): Uint8Array | null;
}

let wasmPromise: Promise<Compression> | undefined;

/** zstd-codec's WASM build; initialised once per process. */
export function wasmZstd(): Promise<Compression> {
  wasmPromise ??= new Promise((resolve, reject) => {
    try {
      const codec = require('zstd-codec') as ZstdCodecModule;
      codec.ZstdCodec.run((zstd) => {
        const simple = new zstd.Simple();
        resolve({
          name: 'zstd-codec',
          compress(raw) {
            const frame = simple.compress(raw, ZSTD_LEVEL);
            if (frame === null) throw new Error(`zstd-codec failed to compress ${raw.length} bytes`);
            return frame;
          },
          decompress(frame) {
            const raw = simple.decompress(frame);
            if (raw === null) throw new Error('zstd-codec failed to decompress a frame');
            return raw;
          },
        });
      });
    } catch (cause) {
      reject(new Error('zstd-codec could not be loaded', { cause }));
    }
  });
  return wasmPromise;
}

/** The best available zstd: native when it built, else WASM. */
export async function loadZstd(): Promise<Compression> {
  return nativeZstd() ?? (await wasmZstd());
}
