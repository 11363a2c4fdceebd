/**
 * A TCP proxy on 127.0.0.1 in front of one server, for the network faults of the fault
 * suite (test/helpers/tcp-proxy.ts only suspends). Every chunk read on one side is
 * written to the other in order, at a time the current mode decides:
 *
 * - `pass`: at once;
 * - `blackhole`: never while the mode lasts — held, and let through when it ends, as a
 *   partition that heals looks to TCP (the peers see silence, then retransmissions);
 * - `delay`: after 75 ± 50 ms (uniform);
 * - `lossy`: half the chunks are "lost" and arrive only after a retransmission timeout
 *   (200–600 ms), as TCP delivers a stream whose packets were dropped: the bytes are
 *   never lost or reordered (that would be a broken stream, not a lossy network), but
 *   everything behind a lost packet waits for it.
 *
 * Order within each direction is always kept. Randomness comes from the caller's seeded
 * generator, so a run replays from its seed.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'delay' | 'lossy';

/** Uniform in [0, 1), seeded by the caller. */
export type Random = () => number;

/** One direction of one connection: chunks with the time each may be written. */
class Lane {
  private readonly queue: { chunk: Buffer; dueMs: number }[] = [];
  private lastDueMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly to: Socket,
    private readonly proxy: FaultProxy,
  ) {}

  push(chunk: Buffer): void {
    const dueMs = Math.max(this.lastDueMs, performance.now() + this.proxy.delayMs());
    this.lastDueMs = dueMs;
    this.queue.push({ chunk, dueMs });
    this.flush();
  }

  /** Writes every chunk that is due, unless the network is a black hole; rearms for the next. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.proxy.mode === 'blackhole' || this.to.destroyed) return;
    const nowMs = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.dueMs <= nowMs) this.to.write(this.queue.shift()!.chunk);
    if (this.queue.length > 0) this.timer = setTimeout(() => this.flush(), this.queue[0]!.dueMs - nowMs);
  }

  close(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }

  get heldBytes(): number {
    return this.queue.reduce((sum, q) => sum + q.chunk.length, 0);
  }
}

export class FaultProxy {
  private readonly lanes = new Set<Lane>();
  private readonly sockets = new Set<Socket>();
  private current: ProxyMode = 'pass';

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly random: Random,
  ) {}

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  get mode(): ProxyMode {
    return this.current;
  }

  /** Listens on `port` (0: any free one) and forwards to `target`. */
  static async start(target: { host: string; port: number }, random: Random, port = 0): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    const address = server.address();
    const proxy = new FaultProxy(
      server,
      typeof address === 'object' && address !== null ? address.port : 0,
      random,
    );
    server.on('connection', (client) => proxy.connect(client, target));
    return proxy;
  }

  /** Bytes read but not yet written on, over every connection and direction. */
  get heldBytes(): number {
    let bytes = 0;
    for (const lane of this.lanes) bytes += lane.heldBytes;
    return bytes;
  }

  /** Switches the mode; leaving `blackhole` releases what it held. */
  set(mode: ProxyMode): void {
    this.current = mode;
    for (const lane of this.lanes) lane.flush();
  }

  /** How long a chunk read now is held, in this mode. */
  delayMs(): number {
    if (this.current === 'delay') return 25 + this.random() * 100;
    if (this.current === 'lossy') return this.random() < 0.5 ? 200 + this.random() * 400 : 0;
    return 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    for (const lane of this.lanes) lane.close();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private connect(client: Socket, target: { host: string; port: number }): void {
    const upstream = createConnection(target);
    const lanes = [new Lane(upstream, this), new Lane(client, this)] as const;
    client.on('data', (chunk: Buffer) => lanes[0].push(chunk));
    upstream.on('data', (chunk: Buffer) => lanes[1].push(chunk));
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
        for (const lane of lanes) {
          lane.close();
          this.lanes.delete(lane);
        }
      });
    }
    for (const lane of lanes) this.lanes.add(lane);
  }
}
