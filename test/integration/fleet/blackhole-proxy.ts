import net from 'node:net';

/**
 * A loopback TCP proxy that can go silent: while `partitioned`, bytes in both
 * directions are held back (not forwarded, connections not closed, no reset),
 * like a network partition that drops packets. `heal()` drops the held bytes
 * and the stalled connections (as a real partition's TCP retries would end
 * them) and forwards again.
 */
export class BlackholeProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #pairs = new Set<[net.Socket, net.Socket]>();
  partitioned = false;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = net.createServer((client) => this.#accept(client));
  }

  static async start(targetUrl: string): Promise<BlackholeProxy> {
    const u = new URL(targetUrl);
    const p = new BlackholeProxy({ host: u.hostname, port: Number(u.port) });
    await new Promise<void>((r) => p.#server.listen(0, '127.0.0.1', r));
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  #accept(client: net.Socket): void {
    const upstream = net.connect(this.#target);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.#pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (d) => {
        if (!this.partitioned) to.write(d);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  partition(): void {
    this.partitioned = true;
  }

  heal(): void {
    this.partitioned = false;
    for (const [a, b] of [...this.#pairs]) {
      a.destroy();
      b.destroy();
    }
  }

  async close(): Promise<void> {
    this.heal();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
