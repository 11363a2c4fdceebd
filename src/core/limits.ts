/**
 * Every bound of the wire format in one place. They are part of the format: raising
 * one is a format change, because a reader must refuse anything above them.
 */

/** Largest `key`, in UTF-8 bytes. */
export const KEY_BYTES_MAX = 4 * 1024;
/** Largest `value`, in bytes. */
export const VALUE_BYTES_MAX = 4 * 1024 * 1024;
/** Largest `type`, in UTF-8 bytes; it must also be non-empty. */
export const TYPE_BYTES_MAX = 64;
/**
 * Largest stored record (header + stored body): under etcd's 1.5 MiB request limit and
 * Kafka's 1 MB default `message.max.bytes`, with room for keys and protocol overhead.
 */
export const RECORD_BYTES_MAX = 900 * 1024;
/**
 * Largest uncompressed body. One maximal entry must fit, and zstd-codec's WASM heap
 * (which aborts near 8 MiB) must stay at least 2x away.
 */
export const RAW_BODY_BYTES_MAX = VALUE_BYTES_MAX + 64 * 1024;
/** Most entries in one record: bounds decode work before any byte is trusted. */
export const RECORD_ENTRIES_MAX = 65_536;
/** Bodies smaller than this are stored uncompressed: zstd's frame costs more than it saves. */
export const COMPRESS_BYTES_MIN = 256;
