import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, isIP, type Server, type Socket } from 'node:net';
import type { Logger } from '../util/logger.ts';
import { silentLogger } from '../util/logger.ts';
import { formatHostPort, parseHostPort, type HostPort } from '../util/address.ts';
import { GossipConfigError, GossipStreamError } from './errors.ts';
import type { ExchangeCallback, PacketHandler, StreamHandler, Transport } from './transport.ts';

export interface NetTransportOptions {
  /** host:port; port 0 lets the OS choose (the same port is used for UDP and TCP). */
  bind: string;
  /** Address announced to other members, when it differs from bind. */
  advertise?: string | undefined;
  /** Datagrams above this size are not sent (the agent never builds one) and are passed up for counting. */
  maxPacket?: number;
  /** Largest push-pull frame accepted, in bytes (a length prefix that lies is cut off here). */
  maxStreamBytes?: number;
  /** How long an inbound stream may take to deliver its request. */
  streamTimeout?: number;
  logger?: Logger;
}

const DEFAULT_MAX_STREAM = 32 * 1024 * 1024;

/**
 * Production transport: one UDP socket for probes and gossip, one TCP listener
 * on the same port for push-pull. A stream frame is a 4-byte big-endian length
 * and the (sealed) payload; one request and one response per connection.
 */
export class NetTransport implements Transport {
  readonly #opts: NetTransportOptions;
  readonly #log: Logger;
  readonly #maxStream: number;
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  #address = '';
  #onPacket: PacketHandler | undefined;
  #onStream: StreamHandler | undefined;
  readonly #peers = new Map<string, HostPort>();
  readonly #sockets = new Set<Socket>();
  /** Send failures (unreachable, buffer full); counted, never thrown. */
  sendErrors = 0;

  constructor(opts: NetTransportOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#maxStream = opts.maxStreamBytes ?? DEFAULT_MAX_STREAM;
  }

  get address(): string {
    return this.#address;
  }

  async start(onPacket: PacketHandler, onStream: StreamHandler): Promise<void> {
    this.#onPacket = onPacket;
    this.#onStream = onStream;
    const bind = parseHostPort(this.#opts.bind, 7946);
    const unspecified = bind.host === '0.0.0.0' || bind.host === '::';
    if (unspecified && !this.#opts.advertise) throw new GossipConfigError(`gossip.advertise is required when binding ${this.#opts.bind}`);
    let lastErr: unknown;
    // With port 0 the OS picks a TCP port that may be taken for UDP: retry a few times.
    for (let attempt = 0; attempt < (bind.port === 0 ? 10 : 1); attempt++) {
      try {
        const port = await this.#listenTcp(bind.host, bind.port);
        await this.#bindUdp(bind.host, port);
        const actual = { host: bind.host, port };
        this.#address = this.#opts.advertise ? formatHostPort(parseHostPort(this.#opts.advertise, port)) : formatHostPort(actual);
        return;
      } catch (err) {
        lastErr = err;
        await this.close();
      }
    }
    throw lastErr;
  }

  #listenTcp(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((sock) => this.#serve(sock));
      server.on('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.#log.error({ err }, 'gossip TCP listener error'));
        this.#tcp = server;
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  #bindUdp(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
      sock.on('error', reject);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.off('error', reject);
        sock.on('error', (err) => this.#log.error({ err }, 'gossip UDP socket error'));
        sock.on('message', (msg, rinfo) => this.#onPacket?.(msg, formatHostPort({ host: rinfo.address, port: rinfo.port })));
        this.#udp = sock;
        resolve();
      });
    });
  }

  #peer(addr: string): HostPort | undefined {
    let p = this.#peers.get(addr);
    if (p) return p;
    try {
      p = parseHostPort(addr);
    } catch {
      return undefined;
    }
    if (this.#peers.size > 10_000) this.#peers.clear();
    this.#peers.set(addr, p);
    return p;
  }

  sendPacket(to: string, data: Uint8Array): void {
    const udp = this.#udp;
    const p = this.#peer(to);
    if (!udp || !p || (this.#opts.maxPacket !== undefined && data.length > this.#opts.maxPacket)) {
      this.sendErrors++;
      return;
    }
    try {
      udp.send(data, p.port, p.host, (err) => {
        if (err) this.sendErrors++;
      });
    } catch {
      this.sendErrors++;
    }
  }

  exchange(to: string, request: Uint8Array, timeoutMs: number, cb: ExchangeCallback): void {
    const p = this.#peer(to);
    if (!p) {
      queueMicrotask(() => cb(new GossipStreamError(`invalid address ${to}`)));
      return;
    }
    let done = false;
    const sock = connect({ host: p.host, port: p.port });
    this.#sockets.add(sock);
    const finish = (err: Error | undefined, resp?: Uint8Array): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      this.#sockets.delete(sock);
      cb(err, resp);
    };
    const timer = setTimeout(() => finish(new GossipStreamError(`push-pull with ${to} timed out after ${timeoutMs}ms`)), timeoutMs);
    timer.unref();
    sock.on('error', (err) => finish(new GossipStreamError(`push-pull with ${to}: ${err.message}`, { cause: err })));
    sock.on('connect', () => sock.write(frame(request)));
    readFrame(sock, this.#maxStream, (err, body) => finish(err, body));
    sock.on('close', () => finish(new GossipStreamError(`push-pull with ${to}: connection closed before a response`)));
  }

  #serve(sock: Socket): void {
    this.#sockets.add(sock);
    const from = formatHostPort({ host: sock.remoteAddress ?? '?', port: sock.remotePort ?? 0 });
    sock.setTimeout(this.#opts.streamTimeout ?? 10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.#sockets.delete(sock));
    readFrame(sock, this.#maxStream, (err, body) => {
      if (err || !body) {
        sock.destroy();
        return;
      }
      let replied = false;
      try {
        this.#onStream?.(body, from, (resp) => {
          if (replied || sock.destroyed) return;
          replied = true;
          sock.end(frame(resp));
        });
      } catch (e) {
        this.#log.error({ err: e }, 'gossip stream handler threw');
      }
      if (!replied) sock.end();
    });
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = undefined;
    this.#tcp = undefined;
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
    if (tcp) await new Promise<void>((r) => tcp.close(() => r()));
  }
}

function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

/** Reads one length-prefixed frame, refusing lengths over `max` before buffering them. */
function readFrame(sock: Socket, max: number, cb: (err: Error | undefined, body?: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let have = 0;
  let need = -1;
  let done = false;
  const finish = (err: Error | undefined, body?: Buffer) => {
    if (done) return;
    done = true;
    sock.off('data', onData);
    cb(err, body);
  };
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    have += chunk.length;
    if (need < 0 && have >= 4) {
      const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      need = head.readUInt32BE(0);
      if (need > max) return finish(new GossipStreamError(`stream frame of ${need} bytes exceeds the ${max}-byte limit`));
    }
    if (need >= 0 && have >= 4 + need) {
      const all = Buffer.concat(chunks);
      finish(undefined, all.subarray(4, 4 + need));
    }
  };
  sock.on('data', onData);
}
