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
/** A record header's stored bytes (record-codec's HEADER_BYTES; a test keeps them equal). */
export const RECORD_HEADER_BYTES = 52;
/**
 * Most bytes one entry spends around its value: its array header, seq/epoch/ts as
 * uint64, the largest type and key with their str headers, a bin32 header and the
 * 10-byte checksum (entry-codec.ts has the layout).
 */
export const ENTRY_FRAMING_BYTES_MAX = 1 + 3 * 9 + (2 + TYPE_BYTES_MAX) + (3 + KEY_BYTES_MAX) + 5 + 10;
/**
 * Largest value an append accepts (917,339 bytes, ~896 KiB): what one record of one
 * entry can hold when the value does not compress, with the largest type and key —
 * header, one-byte body array header and framing under {@link RECORD_BYTES_MAX}. A
 * value that only fits compressed cannot be promised before it is encoded, so it is
 * refused before it is queued; {@link VALUE_BYTES_MAX} stays the readers' bound.
 */
export const APPEND_VALUE_BYTES_MAX = RECORD_BYTES_MAX - RECORD_HEADER_BYTES - 1 - ENTRY_FRAMING_BYTES_MAX;
/**
 * Largest estimated batch (the planner's `batchBytesMax`) that always encodes under
 * {@link RECORD_BYTES_MAX}: estimates bound the encoded entries from above, the body's
 * array header takes up to 5 bytes, and a body that does not compress is stored as is.
 */
export const BATCH_BYTES_MAX = RECORD_BYTES_MAX - RECORD_HEADER_BYTES - 5;
/** Most entries in one record: bounds decode work before any byte is trusted. */
export const RECORD_ENTRIES_MAX = 65_536;
/** Bodies smaller than this are stored uncompressed: zstd's frame costs more than it saves. */
export const COMPRESS_BYTES_MIN = 256;
