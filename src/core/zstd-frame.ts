/**
 * Reads the Frame_Content_Size of a zstd frame header (RFC 8878 §3.1.1.1) so the
 * declared size is checked against our caps before any decompressor allocates.
 */
import { MalformedError } from './errors.js';

const ZSTD_MAGIC = 0xfd2fb528;

/** Declared content size of the zstd frame at the start of `frame`; throws if absent. */
export function zstdFrameContentBytes(frame: Uint8Array): number {
  if (frame.length < 6) throw new MalformedError('zstd frame: truncated header', 0);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint32(0, true) !== ZSTD_MAGIC) throw new MalformedError('zstd frame: bad magic', 0);
  const descriptor = view.getUint8(4);
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictionaryIdFlag = descriptor & 3;
  const offset = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictionaryIdFlag]!;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) throw new MalformedError('zstd frame: no content size', 4);
  if (offset + fcsBytes > frame.length) throw new MalformedError('zstd frame: truncated header', offset);
  let size: number;
  if (fcsBytes === 1) size = view.getUint8(offset);
  else if (fcsBytes === 2) size = view.getUint16(offset, true) + 256;
  else if (fcsBytes === 4) size = view.getUint32(offset, true);
  else {
    const big = view.getBigUint64(offset, true);
    size = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
  }
  return size;
}
