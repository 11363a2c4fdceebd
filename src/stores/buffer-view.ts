/**
 * A Node Buffer over the same memory as `bytes`, for clients that want a Buffer (etcd3,
 * kafkajs). `Buffer.from(uint8Array)` would copy every record on the write path.
 */
export function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
