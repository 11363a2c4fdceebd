/** Binary search over contiguous records (each one's firstSeq = previous lastSeq + 1). */
export function recordIndexCovering(
  records: readonly { readonly firstSeq: bigint; readonly lastSeq: bigint }[],
  seq: bigint,
): number | undefined {
  let low = 0;
  let high = records.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const record = records[mid]!;
    if (seq < record.firstSeq) high = mid - 1;
    else if (seq > record.lastSeq) low = mid + 1;
    else return mid;
  }
  return undefined;
}
