/**
 * Two pieces of the fault suite that must hold for a run to mean anything: the plan is
 * a function of the seed alone and injects every kind at least once (so a failing
 * seed replays the same faults, and CI's one pass covers them all); and the fault
 * proxy between a standby and etcd holds bytes in a black hole and lets them through,
 * in order and complete, when it heals — and never reorders or drops under loss.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../chaos/fault-proxy.js';
import { FAULT_KINDS } from '../../chaos/nemesis.js';
import { makePlan } from '../../chaos/runner.js';
import { Prng } from '../helpers/prng.js';

describe('the fault plan', () => {
  const plan = (seed: number, count: number) => {
    const random = new Prng(seed);
    return makePlan(() => random.next(), FAULT_KINDS, count);
  };

  it('is the same for the same seed, and differs between seeds', () => {
    expect(plan(7, 40)).toEqual(plan(7, 40));
    expect(plan(7, 40)).not.toEqual(plan(8, 40));
  });

  it('starts with every kind once, then never repeats a kind back to back', () => {
    for (const seed of [1, 2, 3, 99]) {
      const steps = plan(seed, 60);
      expect(steps).toHaveLength(60);
      expect([...steps.slice(0, FAULT_KINDS.length)].sort()).toEqual([...FAULT_KINDS].sort());
      for (let i = 1; i < steps.length; i++)
        expect(steps[i], `seed ${seed} step ${i}`).not.toBe(steps[i - 1]);
    }
  });
});

describe('the fault proxy', () => {
  let server: Server | undefined;
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    await new Promise((r) => (server === undefined ? r(undefined) : server.close(r)));
  });

  /** An echo server behind the proxy, and a client connected through it. */
  async function echo(random: () => number): Promise<Socket> {
    server = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const address = server.address() as { port: number };
    proxy = await FaultProxy.start({ host: '127.0.0.1', port: address.port }, random);
    const client = connect(proxy.port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    return client;
  }

  function received(client: Socket, bytes: number): Promise<string> {
    let text = '';
    return new Promise((resolve) =>
      client.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.length >= bytes) resolve(text);
      }),
    );
  }

  it('a black hole holds everything, and healing delivers it in order', async () => {
    const client = await echo(() => 0.5);
    proxy!.set('blackhole');
    const messages = Array.from({ length: 50 }, (_, i) => `<${i}>`);
    const all = received(client, messages.join('').length);
    for (const message of messages) client.write(message);
    // Every byte reaches the proxy and stays there: nothing is echoed while the hole lasts.
    const total = messages.join('').length;
    while (proxy!.heldBytes < total) await new Promise((r) => setImmediate(r));
    expect(proxy!.heldBytes).toBe(total);
    proxy!.set('pass');
    expect(await all).toBe(messages.join(''));
    client.destroy();
  });

  it('lossy: every chunk arrives, in order, the "lost" ones late', async () => {
    const random = new Prng(5);
    const client = await echo(() => random.next());
    proxy!.set('lossy');
    const messages = Array.from({ length: 30 }, (_, i) => `[${i}]`);
    const all = received(client, messages.join('').length);
    for (const message of messages) client.write(message);
    expect(await all).toBe(messages.join(''));
    client.destroy();
  });
});
