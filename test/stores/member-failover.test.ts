/**
 * Which etcd client errors steer calls to other members (./member-failover.ts): only a
 * member that cannot be reached, never an answer from etcd; only a call that never left
 * is made again; and a single member gets no policy at all. The behaviour on a real
 * cluster is in etcd-store.cluster.test.ts.
 */
import { noop } from 'cockatiel';
import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { isUnreachable, memberFailover, neverSent } from '../../src/stores/etcd/member-failover.js';

const refused = new GRPCUnavailableError(
  '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379',
);
const dropped = new GRPCUnavailableError('14 UNAVAILABLE: Connection dropped');
const leaderChanged = new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: leader changed');
const deadline = new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded after 5.000s');

describe('etcd member failover', () => {
  it('a member that refused or dropped the connection is unreachable; etcd answering is not', () => {
    expect(isUnreachable(refused)).toBe(true);
    expect(isUnreachable(dropped)).toBe(true);
    expect(isUnreachable(leaderChanged)).toBe(false);
    expect(isUnreachable(deadline)).toBe(false);
    expect(isUnreachable(new Error('14 UNAVAILABLE: No connection established'))).toBe(false);
  });

  it('only a call refused before it was sent is made again', () => {
    expect(neverSent(refused)).toBe(true);
    expect(neverSent(dropped)).toBe(false);
    expect(neverSent(leaderChanged)).toBe(false);
    expect(neverSent(deadline)).toBe(false);
  });

  it('one member: no breaker and no retry', () => {
    const single = memberFailover(1);
    expect(single.global).toBe(noop);
    expect(single.host('127.0.0.1:2379')).toBe(noop);
    const three = memberFailover(3);
    expect(three.global).not.toBe(noop);
    expect(three.host('127.0.0.1:2379')).not.toBe(three.host('127.0.0.1:2380'));
  });

  it('a breaker opens on the first unreachable failure and refuses the next call without making it', async () => {
    const breaker = memberFailover(3).host('127.0.0.1:2379');
    await expect(breaker.execute(() => Promise.reject(refused))).rejects.toBe(refused);
    let made = false;
    await expect(
      breaker.execute(() => {
        made = true;
        return Promise.resolve();
      }),
    ).rejects.toThrow(/circuit/i);
    expect(made).toBe(false);
  });

  it('an answer from etcd leaves the breaker closed', async () => {
    const breaker = memberFailover(3).host('127.0.0.1:2379');
    await expect(breaker.execute(() => Promise.reject(leaderChanged))).rejects.toBe(leaderChanged);
    await expect(breaker.execute(() => Promise.resolve('answered'))).resolves.toBe('answered');
  });

  it('the global policy makes a never-sent call again, at most once per other member', async () => {
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(refused);
    };
    await expect(memberFailover(3).global.execute(failing)).rejects.toBe(refused);
    expect(calls).toBe(3);
    calls = 0;
    const droppedOnce = () => {
      calls++;
      return Promise.reject(dropped);
    };
    await expect(memberFailover(3).global.execute(droppedOnce)).rejects.toBe(dropped);
    expect(calls).toBe(1);
  });
});
