/**
 * The floor for any JavaScript HTTP/1.1 proxy on this machine: straight on
 * `net` sockets, GET without bodies only, the upstream's Content-Length
 * framing only, no header policy. It scans for the end of the head, adds one
 * header, writes the head in one write and the response bytes through as they
 * come. Not a proxy anyone should run: a measuring stick for bench/tools/hotpath.ts --raw.
 *
 *   node --import tsx bench/servers/raw-proxy.ts PORT UPSTREAM_PORT
 */
import net from 'node:net';

const [port, upstreamPort] = process.argv.slice(2).map(Number) as [number, number];
const idle: Upstream[] = [];
const CRLF2 = Buffer.from('\r\n\r\n');

class Upstream {
  readonly socket: net.Socket;
  client: Client | null = null;
  #buf: Buffer | null = null;
  #remaining = -1;
  constructor() {
    this.socket = net.connect(upstreamPort, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => this.#onData(d));
  }
  #onData(d: Buffer): void {
    const client = this.client!;
    if (this.#remaining < 0) {
      const b = this.#buf === null ? d : Buffer.concat([this.#buf, d]);
      const end = b.indexOf(CRLF2);
      if (end < 0) {
        this.#buf = b;
        return;
      }
      this.#buf = null;
      const head = b.toString('latin1', 0, end);
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      this.#remaining = (m ? Number(m[1]) : 0) - (b.length - end - 4);
      client.socket.write(b);
    } else {
      this.#remaining -= d.length;
      client.socket.write(d);
    }
    if (this.#remaining <= 0) {
      this.#remaining = -1;
      this.client = null;
      idle.push(this);
      client.done();
    }
  }
}

class Client {
  readonly socket: net.Socket;
  #buf: Buffer | null = null;
  #busy = false;
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.#buf = this.#buf === null ? d : Buffer.concat([this.#buf, d]);
      this.#next();
    });
    socket.on('error', () => socket.destroy());
  }
  #next(): void {
    if (this.#busy || this.#buf === null) return;
    const b = this.#buf;
    const end = b.indexOf(CRLF2);
    if (end < 0) return;
    this.#buf = end + 4 === b.length ? null : b.subarray(end + 4);
    this.#busy = true;
    const up = idle.pop() ?? new Upstream();
    up.client = this;
    up.socket.write(`${b.toString('latin1', 0, end)}\r\nx-forwarded-for: ${this.socket.remoteAddress}\r\n\r\n`, 'latin1');
  }
  done(): void {
    this.#busy = false;
    this.#next();
  }
}

net.createServer((s) => new Client(s)).listen(port, '127.0.0.1');
