/**
 * The shared store-side append queue: jobs run in call order across barriers, one at a
 * time; appends queued during a write go out as the next group, cut by the writer; a
 * barrier waits for earlier groups to settle; each failure policy rejects what it says
 * and nothing more; a job enqueued by an ack's continuation is drained; close() lets
 * queued work finish and refuses later work. No timers: every write is a promise the
 * test settles.
 */
import { describe, expect, it } from 'vitest';
import {
  AppendQueue,
  type GroupWriter,
  type QueuedAppend,
  type WriteFailurePolicy,
} from '../../src/stores/append-queue.js';

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Runs microtasks until none is left to run (a bounded number of turns, no timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** How a promise ended, read without awaiting it. */
function outcome(p: Promise<unknown>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const seen: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  p.then(
    () => (seen.state = 'resolved'),
    (error: unknown) => ((seen.state = 'rejected'), (seen.error = error)),
  );
  return seen;
}

/**
 * A writer whose every write waits for the test: `trace` lists what ran, in order;
 * `pending` holds the write in progress. A write resolves its group when released and
 * throws when failed; `cut` defaults to taking the whole run.
 */
class ScriptedWriter implements GroupWriter<number> {
  readonly trace: string[] = [];
  readonly groups: number[][] = [];
  pending: Deferred | undefined;
  cutMax = Infinity;
  beforeCut?: () => Promise<void>;
  settled?: () => Promise<void>;
  private wake: (() => void) | undefined;

  constructor(readonly onWriteFailure: WriteFailurePolicy = 'group') {}

  cut(run: readonly QueuedAppend<number>[]): number {
    return Math.min(run.length, this.cutMax);
  }

  async write(group: readonly QueuedAppend<number>[]): Promise<void> {
    const items = group.map((a) => a.item);
    this.groups.push(items);
    this.trace.push(`write ${items.join(',')}`);
    const gate = deferred();
    this.pending = gate;
    this.wake?.();
    await gate.promise;
    this.pending = undefined;
    for (const a of group) a.resolve();
  }

  /** Resolves once a write is in progress. */
  async inWrite(): Promise<Deferred> {
    while (this.pending === undefined) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.pending;
  }

  /** Releases the write in progress and waits for it to be in the trace as done. */
  async release(): Promise<void> {
    (await this.inWrite()).resolve();
    await settle();
  }

  barrier(queue: AppendQueue<number>, name: string, gate?: Promise<void>): Promise<void> {
    return queue.barrier(async () => {
      this.trace.push(`${name} start`);
      await gate;
      this.trace.push(`${name} end`);
    });
  }
}

describe('append queue: order and groups', () => {
  it('keeps call order across barriers: a barrier runs alone between the groups around it', async () => {
    const writer = new ScriptedWriter();
    const queue = new AppendQueue(writer);
    const gate = deferred();
    const calls = [
      queue.append(1),
      queue.append(2),
      writer.barrier(queue, 'fence', gate.promise),
      queue.append(3),
      writer.barrier(queue, 'truncate'),
      queue.append(4),
      queue.append(5),
    ];
    expect(writer.trace).toEqual(['write 1']);
    await writer.release(); // 2 was queued behind the first write: the next group
    await writer.release();
    expect(writer.trace).toEqual(['write 1', 'write 2', 'fence start']);
    // Nothing called after the fence starts before it ends.
    await settle();
    expect(writer.trace).toEqual(['write 1', 'write 2', 'fence start']);
    gate.resolve();
    await writer.release();
    await writer.release();
    await Promise.all(calls);
    expect(writer.trace).toEqual([
      'write 1',
      'write 2',
      'fence start',
      'fence end',
      'write 3',
      'truncate start',
      'truncate end',
      'write 4,5',
    ]);
  });

  it('appends queued during a write go out together as the next group, cut by the writer', async () => {
    const writer = new ScriptedWriter();
    writer.cutMax = 3;
    const queue = new AppendQueue(writer);
    // The first append is written at once; the rest queue behind it.
    const calls = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => queue.append(n));
    for (let i = 0; i < 4; i++) await writer.release();
    await Promise.all(calls);
    expect(writer.groups).toEqual([[1], [2, 3, 4], [5, 6, 7], [8]]);
  });

  it("the writer's cut decides contiguity: a group never spans the item it refuses", async () => {
    // Cut where the tens digit changes (as etcd cuts where the epoch changes).
    const writer = new ScriptedWriter();
    writer.cut = (run) => {
      let count = 1;
      while (count < run.length && Math.floor(run[count]!.item / 10) === Math.floor(run[0]!.item / 10))
        count++;
      return count;
    };
    const queue = new AppendQueue(writer);
    const calls = [1, 11, 12, 13, 21, 22].map((n) => queue.append(n));
    for (let i = 0; i < 3; i++) await writer.release();
    await Promise.all(calls);
    expect(writer.groups).toEqual([[1], [11, 12, 13], [21, 22]]);
  });

  it('beforeCut: appends called during the pause join the group it cuts', async () => {
    const writer = new ScriptedWriter();
    let pause = deferred();
    writer.beforeCut = () => pause.promise;
    const queue = new AppendQueue(writer);
    const calls = [queue.append(1), queue.append(2)];
    await settle();
    expect(writer.groups).toEqual([]);
    calls.push(queue.append(3));
    const fence = writer.barrier(queue, 'fence');
    calls.push(queue.append(4)); // after the barrier: not in this group
    const first = pause;
    pause = deferred();
    first.resolve();
    await writer.release();
    pause.resolve();
    await writer.release();
    await Promise.all([...calls, fence]);
    expect(writer.trace).toEqual(['write 1,2,3', 'fence start', 'fence end', 'write 4']);
  });

  it('a barrier waits until every earlier group is settled', async () => {
    const writer = new ScriptedWriter();
    const acks = deferred();
    writer.settled = () => acks.promise;
    const queue = new AppendQueue(writer);
    const append = queue.append(1);
    const fence = writer.barrier(queue, 'fence');
    await writer.release();
    expect(writer.trace).toEqual(['write 1']);
    acks.resolve();
    await Promise.all([append, fence]);
    expect(writer.trace).toEqual(['write 1', 'fence start', 'fence end']);
  });

  it("a job enqueued by an ack's continuation, however late, is drained", async () => {
    // The continuation enqueues after 0..12 microtask turns, so it meets the drain at
    // every step of its ending; with and without a settled hook.
    for (const withSettled of [false, true])
      for (let turns = 0; turns <= 12; turns++) {
        const writer = new ScriptedWriter();
        if (withSettled) writer.settled = () => Promise.resolve();
        const queue = new AppendQueue(writer);
        let second: Promise<void> | undefined;
        const first = queue.append(1).then(async () => {
          for (let i = 0; i < turns; i++) await Promise.resolve();
          second = queue.append(2);
        });
        await writer.release();
        await first;
        await settle();
        expect(writer.pending, `a drain for the second append (${turns} turns)`).toBeDefined();
        await writer.release();
        await expect(second).resolves.toBeUndefined();
        expect(writer.groups).toEqual([[1], [2]]);
      }
  });

  it('a failed barrier rejects only itself', async () => {
    const writer = new ScriptedWriter('store');
    const queue = new AppendQueue(writer);
    const fence = queue.barrier(async () => {
      throw new Error('refused');
    });
    const after = queue.append(1);
    await expect(fence).rejects.toThrow('refused');
    await writer.release();
    await expect(after).resolves.toBeUndefined();
  });
});

describe('append queue: failure policies', () => {
  /**
   * Three groups: [1] written, then [2, 3] whose write settles 2 and throws, with a
   * barrier and 4 queued behind it; then 5 called after the failure.
   */
  async function failSecondGroup(policy: WriteFailurePolicy) {
    const writer = new ScriptedWriter(policy);
    const boom = new Error('store gone');
    const queue = new AppendQueue(writer);
    const one = outcome(queue.append(1));
    const two = outcome(queue.append(2));
    const three = outcome(queue.append(3));
    const fence = outcome(writer.barrier(queue, 'fence'));
    const four = outcome(queue.append(4));
    writer.write = async (group) => {
      delete (writer as Partial<ScriptedWriter>).write; // the next write is a scripted one again
      writer.groups.push(group.map((a) => a.item));
      group[0]!.resolve(); // settled before the failure: keeps its outcome
      throw boom;
    };
    (await writer.inWrite()).resolve();
    await settle();
    const five = outcome(queue.append(5));
    await settle();
    if (writer.pending !== undefined) await writer.release();
    if (writer.pending !== undefined) await writer.release();
    await settle();
    return { boom, one, two, three, fence, four, five, writer };
  }

  it('group: only the unsettled appends of the failed group are rejected', async () => {
    const r = await failSecondGroup('group');
    expect([r.one.state, r.two.state, r.three.state]).toEqual(['resolved', 'resolved', 'rejected']);
    expect(r.three.error).toBe(r.boom);
    expect([r.fence.state, r.four.state, r.five.state]).toEqual(['resolved', 'resolved', 'resolved']);
    expect(r.writer.trace).toEqual(['write 1', 'fence start', 'fence end', 'write 4', 'write 5']);
    expect(r.writer.groups).toEqual([[1], [2, 3], [4], [5]]);
  });

  it('queued: the group and everything queued behind it fail with one error; later calls run', async () => {
    const r = await failSecondGroup('queued');
    expect([r.one.state, r.two.state]).toEqual(['resolved', 'resolved']);
    for (const o of [r.three, r.fence, r.four]) expect(o).toEqual({ state: 'rejected', error: r.boom });
    expect(r.five.state).toBe('resolved');
    expect(r.writer.groups).toEqual([[1], [2, 3], [5]]);
  });

  it('store: as queued, and every later call is refused with the same error', async () => {
    const r = await failSecondGroup('store');
    expect([r.one.state, r.two.state]).toEqual(['resolved', 'resolved']);
    for (const o of [r.three, r.fence, r.four, r.five])
      expect(o).toEqual({ state: 'rejected', error: r.boom });
    expect(r.writer.groups).toEqual([[1], [2, 3]]);
  });

  it('fail(): rejects what is queued and what comes later; the write in progress is left to its writer', async () => {
    const writer = new ScriptedWriter('group');
    const queue = new AppendQueue(writer);
    const inProgress = outcome(queue.append(1));
    const queued = outcome(queue.append(2));
    const fence = outcome(writer.barrier(queue, 'fence'));
    await writer.inWrite();
    const mark = new Error('mark write failed');
    queue.fail(mark);
    const later = outcome(queue.append(3));
    await settle();
    for (const o of [queued, fence, later]) expect(o).toEqual({ state: 'rejected', error: mark });
    expect(inProgress.state).toBe('pending');
    await writer.release();
    expect(inProgress.state).toBe('resolved');
    expect(writer.groups).toEqual([[1]]);
  });
});

describe('append queue: close', () => {
  it('jobs queued before close() still run; close resolves after their acks; later jobs are refused', async () => {
    const writer = new ScriptedWriter();
    let acks = deferred();
    writer.settled = () => acks.promise;
    const queue = new AppendQueue(writer);
    const first = outcome(queue.append(1));
    const fence = outcome(writer.barrier(queue, 'fence'));
    const queued = outcome(queue.append(2));
    const closed = new Error('closed');
    const closing = outcome(queue.close(() => closed));
    const refused = outcome(queue.append(3));
    const refusedBarrier = outcome(writer.barrier(queue, 'truncate'));
    await writer.release();
    expect(writer.trace).toEqual(['write 1']); // the fence waits for write 1's acks
    acks.resolve();
    acks = deferred();
    await writer.release();
    expect(writer.trace).toEqual(['write 1', 'fence start', 'fence end', 'write 2']);
    expect(closing.state).toBe('pending'); // the last group's acks are not settled yet
    acks.resolve();
    await settle();
    expect([first.state, fence.state, queued.state, closing.state]).toEqual([
      'resolved',
      'resolved',
      'resolved',
      'resolved',
    ]);
    for (const o of [refused, refusedBarrier]) expect(o).toEqual({ state: 'rejected', error: closed });
  });

  it('close() on an idle queue resolves at once and refuses what comes after', async () => {
    const queue = new AppendQueue(new ScriptedWriter());
    await queue.close(() => new Error('closed'));
    await expect(queue.append(1)).rejects.toThrow('closed');
    await expect(queue.close(() => new Error('again'))).resolves.toBeUndefined();
    await expect(queue.append(2)).rejects.toThrow('closed');
  });
});
