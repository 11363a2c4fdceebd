/**
 * The service's pure pieces, without a process: request parsing (schemas, byte limits,
 * reserved types, u64 parameters), the checkpoint digest and bookkeeping, and the
 * applied feed's ring bounds.
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/types.js';
import { AppliedFeed } from '../../src/server/applied-feed.js';
import { Checkpoints, decodeCheckpoint, encodeCheckpoint, KvDigest } from '../../src/server/checkpoints.js';
import { HttpError, parseAppend, parsePromote, parseU64 } from '../../src/server/requests.js';

const entry = (seq: bigint, type = 'put', key = `k${seq}`, value = 'v'): Entry =>
  ({ seq, epoch: 1n, ts: 0, type, key, value: Buffer.from(value), checksum: 0n }) as unknown as Entry;

function refusal(f: () => unknown): HttpError {
  try {
    f();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('parseAppend', () => {
  it('takes one entry or many, decoding base64 values', () => {
    expect(parseAppend({ type: 'put', key: 'a', value: 'aGk=' })).toEqual([
      { type: 'put', key: 'a', value: Buffer.from('hi') },
    ]);
    const ops = parseAppend({
      entries: [
        { type: 'delete', key: 'a' },
        { type: 'app.event', key: '', value: '' },
      ],
    });
    expect(ops.map((o) => [o.type, o.value.length])).toEqual([
      ['delete', 0],
      ['app.event', 0],
    ]);
  });

  it.each([
    [{ entries: [] }, 400, 'entries'],
    [{ type: 'put', key: 'a', value: 'aGk' }, 400, 'value'],
    [{ type: 'put', key: 'a', value: 'a h=' }, 400, 'value'],
    // URL-safe alphabet, which Node's decoder would take.
    [{ type: 'put', key: 'a', value: 'a-_=' }, 400, 'value'],
    // `=` inside, and pad bits that are not zero (QR== is "A" too, not canonically).
    [{ type: 'put', key: 'a', value: 'aG=k' }, 400, 'value'],
    [{ type: 'put', key: 'a', value: 'QR==' }, 400, 'value'],
    [{ type: 'put', key: 'a', value: 'Q===' }, 400, 'value'],
    [JSON.parse('{"type":"put","key":"a","value":"","__proto__":{"x":1}}') as unknown, 400, '__proto__'],
    [
      { entries: [{ type: 'put', key: 'a', value: '', constructor: { prototype: {} } }] },
      400,
      'entries/0/constructor',
    ],
    [{ type: 'put', key: 'a' }, 400, 'value'],
    [{ type: 'delete', key: 'a', value: 'aGk=' }, 400, 'value'],
    [{ type: 'checkpoint', key: 'a', value: '' }, 400, 'type'],
    [{ type: 'oplog.x', key: 'a', value: '' }, 400, 'type'],
    [{ type: 'put', key: 'a', value: '', extra: 1 }, 400, 'extra'],
    [{ type: '', key: 'a', value: '' }, 400, 'type'],
    [{ type: 'é'.repeat(33), key: 'a', value: '' }, 413, 'type'],
    [
      {
        entries: [
          { type: 'put', key: 'a', value: '' },
          { type: 'put', key: 5, value: '' },
        ],
      },
      400,
      'entries/1/key',
    ],
    [[], 400, ''],
    [null, 400, ''],
  ])('%j → %i naming %j', (body, status, field) => {
    const error = refusal(() => parseAppend(body));
    expect([error.status, error.field]).toEqual([status, field]);
    expect(error.body()).toMatchObject({
      code: expect.stringMatching(/^OPLOG_/),
      message: expect.any(String),
    });
  });

  it('parsePromote: {} or {force: boolean}, nothing else', () => {
    expect(parsePromote(undefined)).toEqual({ force: false });
    expect(parsePromote({ force: true })).toEqual({ force: true });
    expect(refusal(() => parsePromote({ force: 1 })).field).toBe('force');
    expect(refusal(() => parsePromote({ now: true })).field).toBe('now');
  });

  it('parseU64: decimal digits within u64', () => {
    expect(parseU64('minSeq', '18446744073709551615', 0n)).toBe(18446744073709551615n);
    expect(parseU64('minSeq', undefined, 7n)).toBe(7n);
    for (const bad of ['18446744073709551616', '-1', '01', '1e3', '', ' 1', '0x10'])
      expect(refusal(() => parseU64('minSeq', bad, 0n)).status).toBe(400);
  });
});

describe('checkpoints', () => {
  it('the digest depends on the state, not on the order that built it', () => {
    const a = new KvDigest();
    const b = new KvDigest();
    a.set('x', Buffer.from('1'));
    a.set('y', Buffer.from('2'));
    b.set('y', Buffer.from('9'));
    b.set('x', Buffer.from('1'));
    b.set('y', Buffer.from('2'));
    b.set('z', Buffer.from('3'));
    b.set('z', undefined);
    expect(a.value).toBe(b.value);
    a.set('x', undefined);
    expect(a.value).not.toBe(b.value);
    a.set('x', Buffer.from('1'));
    expect(a.value).toBe(b.value);
    a.reset();
    expect(a.value).toBe(0n);
    a.set('x', Buffer.from('1'));
    expect(a.value).not.toBe(0n);
    a.set('x', undefined);
    expect(a.value).toBe(0n);
  });

  it('notes digests at multiples, asks for a checkpoint, and reports every mismatch, keeping the first', () => {
    const node = new Checkpoints(10);
    expect(node.applied(entry(9n), 99n)).toEqual({});
    expect(node.applied(entry(10n), 100n)).toEqual({ append: { atSeq: 10n, digest: 100n } });
    const good = { ...entry(12n, 'checkpoint', ''), value: encodeCheckpoint({ atSeq: 10n, digest: 100n }) };
    expect(node.applied(good, 0n)).toEqual({});
    expect(node.checked).toBe(1);
    const bad = { ...entry(13n, 'checkpoint', ''), value: encodeCheckpoint({ atSeq: 10n, digest: 101n }) };
    expect(node.applied(bad, 0n).mismatch).toMatchObject({ atSeq: 10n, checkpointSeq: 13n });
    expect(node.applied({ ...bad, seq: 14n } as Entry, 0n).mismatch).toMatchObject({ checkpointSeq: 14n });
    expect([node.checked, node.mismatches, node.mismatch?.checkpointSeq]).toEqual([3, 2, 13n]);
    expect(node.applied({ ...good, seq: 16n } as Entry, 0n)).toEqual({});
    expect([node.checked, node.mismatches]).toEqual([4, 2]);
    // A checkpoint for a seq this node never noted (installed past it) is not judged.
    const unknown = { ...entry(15n, 'checkpoint', ''), value: encodeCheckpoint({ atSeq: 5n, digest: 1n }) };
    expect(node.applied(unknown, 0n)).toEqual({});
    expect(decodeCheckpoint(Buffer.from('not msgpack'))).toBeUndefined();
  });
});

describe('AppliedFeed', () => {
  it('keeps the newest entries within its bounds and tells listeners', () => {
    const feed = new AppliedFeed({ ringEntriesMax: 3, ringBytesMax: 1_000 });
    const seen: bigint[] = [];
    const restored: bigint[] = [];
    feed.listen({ entry: (e) => seen.push(e.seq), restored: (s) => restored.push(s) });
    for (let s = 1n; s <= 5n; s++) feed.push(entry(s));
    expect(seen).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(feed.firstRingSeq).toBe(3n);
    expect(feed.since(4n).map((e) => e.seq)).toEqual([4n, 5n]);
    feed.push(entry(6n, 'put', 'big', 'x'.repeat(2_000)));
    expect(feed.firstRingSeq).toBe(6n); // one entry is always kept
    feed.restored(100n);
    expect([feed.firstRingSeq, feed.lastSeq, restored]).toEqual([101n, 100n, [100n]]);
  });
});
