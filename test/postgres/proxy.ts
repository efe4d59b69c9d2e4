/**
 * A TCP relay in front of PostgreSQL, so a test can make the database
 * unreachable for one instance (every connection cut, new ones refused) or
 * silent (every byte dropped) and bring it back on the same port, without
 * touching the server others use.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { PG_HOST, PG_PORT } from './database.js';

export class PgProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private stalled = false;
  port = 0;

  static async start(): Promise<PgProxy> {
    const proxy = new PgProxy();
    await proxy.listen();
    return proxy;
  }

  /** Closes every relayed connection and refuses new ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Drops every byte either way, closing nothing: a black hole, which only a timeout notices. */
  stall(): void {
    this.stalled = true;
  }

  /** Relays again what is sent from now on (what was dropped stays lost). */
  unstall(): void {
    this.stalled = false;
  }

  /** Accepts connections again, on the same port. */
  async restore(): Promise<void> {
    await this.listen();
  }

  private listen(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(PG_PORT, PG_HOST);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      // Bytes are dropped while stalled, as a network that loses every packet drops them.
      for (const [from, to] of [[client, upstream], [upstream, client]] as const) from.on('data', (chunk) => this.stalled || to.write(chunk));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }
}
