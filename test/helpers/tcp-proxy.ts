/**
 * A TCP proxy on 127.0.0.1 in front of a server, for network-fault tests: `suspend()`
 * stops moving bytes in both directions on every connection, new ones included (a
 * partition: peers see silence, not errors); `resume()` lets the held bytes through
 * (the partition heals, nothing was lost or reordered); `close()` ends everything.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private suspended = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const proxy = new TcpProxy(server, typeof address === 'object' && address !== null ? address.port : 0);
    server.on('connection', (client) => proxy.connect(client, target));
    return proxy;
  }

  suspend(): void {
    this.suspended = true;
    for (const socket of this.sockets) socket.pause();
  }

  resume(): void {
    this.suspended = false;
    for (const socket of this.sockets) socket.resume();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private connect(client: Socket, target: { host: string; port: number }): void {
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    // After pipe(), which sets both flowing: a connection made during a partition is held too.
    if (this.suspended) for (const socket of [client, upstream]) socket.pause();
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
