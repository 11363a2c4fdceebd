/**
 * The bounded queue between a store's fetch loop and its subscriber: put() waits while
 * the queue is full (by items or by bytes, always letting one item in), resumes as the
 * subscriber pulls, and control events go in at once; ending releases a waiting put.
 */
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../src/stores/event-queue.js';

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
};

describe('event queue', () => {
  it('put waits while itemsMax items are queued and resumes when one is pulled', async () => {
    const q = new EventQueue<number>({ itemsMax: 2, bytesMax: 1_000 }, () => 1);
    await q.put(1);
    await q.put(2);
    const third = q.put(3);
    expect(await settled(third)).toBe(false);
    expect(q.length).toBe(2);
    const it = q.iterator();
    expect((await it.next()).value).toBe(1);
    expect(await third).toBe(true);
    expect(q.length).toBe(2);
  });

  it('bounds bytes too, but always lets one item in', async () => {
    const q = new EventQueue<number>({ itemsMax: 100, bytesMax: 10 }, (n) => n);
    expect(await q.put(50)).toBe(true); // one item over the byte bound is let in
    const next = q.put(1);
    expect(await settled(next)).toBe(false);
    await q.iterator().next();
    expect(await next).toBe(true);
  });

  it('control events go past the bound; end releases a waiting put, which drops its item', async () => {
    const q = new EventQueue<number>({ itemsMax: 1, bytesMax: 10 }, () => 1);
    await q.put(1);
    q.pushControl(99);
    expect(q.length).toBe(2);
    const waiting = q.put(2);
    q.end();
    expect(await waiting).toBe(false);
    const seen: number[] = [];
    for await (const n of q.iterator()) seen.push(n);
    expect(seen).toEqual([1, 99]);
  });
});
