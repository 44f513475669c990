import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, isIP, type Server, type Socket } from 'node:net';
import type { Logger } from '../util/logger.ts';
import { silentLogger } from '../util/logger.ts';
import { formatHostPort, parseHostPort, type HostPort } from '../util/address.ts';
import { GossipConfigError, GossipStreamError } from './errors.ts';
import type { ExchangeCallback, PacketHandler, StreamHandler, Transport } from './transport.ts';
import { MAX_STREAM_HEAD, type StreamGate } from './stream-gate.ts';
import { DEFAULT_GOSSIP_PORT, GOSSIP_DEFAULTS } from './options.ts';

export interface NetTransportOptions {
  /** host:port; port 0 lets the OS choose (the same port is used for UDP and TCP). */
  bind: string;
  /** Address announced to other members, when it differs from bind. */
  advertise?: string | undefined;
  /** Datagrams above this size are not sent (the agent never builds one) and are passed up for counting. */
  maxPacket?: number;
  /** Largest push-pull frame accepted, in bytes (a length prefix that lies is cut off here). */
  maxStreamBytes?: number;
  /**
   * Total time an inbound stream may take, from accept to the last byte of the
   * response: a deadline, not an inactivity timer, so trickling bytes cannot
   * extend it. Default 10 s (the agent passes its profile's TCPTimeout).
   */
  streamTimeout?: number;
  /** Inbound streams open at once; more are closed on accept. Default 128. */
  maxConnections?: number | undefined;
  /** Inbound streams open at once from one IP address; more are closed on accept. Default 8. */
  maxConnectionsPerClient?: number | undefined;
  /** Told about every inbound stream closed by a limit (the agent counts them). */
  onRefused?: (reason: StreamRefusal) => void;
  logger?: Logger;
}

/** Why an inbound stream was closed before it was served. */
export type StreamRefusal = 'connection_limit' | 'client_limit' | 'deadline' | 'frame';

const DEFAULT_MAX_STREAM = 32 * 1024 * 1024;
export const DEFAULT_MAX_STREAM_CONNECTIONS = GOSSIP_DEFAULTS.maxConnections;
export const DEFAULT_MAX_STREAM_CONNECTIONS_PER_CLIENT = GOSSIP_DEFAULTS.maxConnectionsPerClient;

/**
 * Production transport: one UDP socket for probes and gossip, one TCP listener
 * on the same port for push-pull; one request and one response per connection.
 * A stream frame is [length u32][head length u16][head][payload]: the head
 * (sealed, at most 512 bytes) announces the length and is checked by the gate
 * before a byte of the payload is kept, so a client without the key holds at
 * most 518 bytes of this process's memory. Inbound streams are capped in
 * total and per client address, and each has a total deadline.
 */
export class NetTransport implements Transport {
  readonly #opts: NetTransportOptions;
  readonly #log: Logger;
  readonly #maxStream: number;
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  #address = '';
  #localHost: string | undefined;
  /** Without a gate (a transport used on its own) frames carry no head and are not checked before buffering. */
  #gate: StreamGate | undefined;
  #onPacket: PacketHandler | undefined;
  #onStream: StreamHandler | undefined;
  readonly #peers = new Map<string, HostPort>();
  readonly #sockets = new Set<Socket>();
  readonly #inbound = new Map<string, number>();
  #inboundTotal = 0;
  readonly #maxConnections: number;
  readonly #maxPerClient: number;
  readonly #warned = new Set<string>();
  /** Send failures (unreachable, buffer full); counted, never thrown. */
  sendErrors = 0;

  constructor(opts: NetTransportOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#maxStream = opts.maxStreamBytes ?? DEFAULT_MAX_STREAM;
    this.#maxConnections = opts.maxConnections ?? DEFAULT_MAX_STREAM_CONNECTIONS;
    this.#maxPerClient = opts.maxConnectionsPerClient ?? DEFAULT_MAX_STREAM_CONNECTIONS_PER_CLIENT;
    for (const [name, v] of [['maxConnections', this.#maxConnections], ['maxConnectionsPerClient', this.#maxPerClient]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new GossipConfigError(`gossip.${name} must be a positive integer, got ${String(v)}`);
    }
  }

  get address(): string {
    return this.#address;
  }

  async start(onPacket: PacketHandler, onStream: StreamHandler, gate?: StreamGate): Promise<void> {
    this.#onPacket = onPacket;
    this.#onStream = onStream;
    this.#gate = gate;
    const bind = parseHostPort(this.#opts.bind, DEFAULT_GOSSIP_PORT);
    const unspecified = bind.host === '0.0.0.0' || bind.host === '::';
    if (unspecified && !this.#opts.advertise) throw new GossipConfigError(`gossip.advertise is required when binding ${this.#opts.bind}`);
    let lastErr: unknown;
    // With port 0 the OS picks a TCP port that may be taken for UDP: retry a few times.
    for (let attempt = 0; attempt < (bind.port === 0 ? 10 : 1); attempt++) {
      try {
        const port = await this.#listenTcp(bind.host, bind.port);
        await this.#bindUdp(bind.host, port);
        const actual = { host: bind.host, port };
        this.#localHost = !unspecified && isIP(bind.host) !== 0 ? bind.host : undefined;
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
    // From the bound address (when it is one): the peer then counts this member's streams under its own address.
    const sock = connect({ host: p.host, port: p.port, ...(this.#localHost ? { localAddress: this.#localHost } : {}) });
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
    sock.on('connect', () => sock.write(frame(request, this.#gate)));
    readFrame(sock, this.#maxStream, this.#gate, (err, body) => finish(err, body));
    sock.on('close', () => finish(new GossipStreamError(`push-pull with ${to}: connection closed before a response`)));
  }

  #serve(sock: Socket): void {
    const client = sock.remoteAddress ?? '?';
    const open = this.#inbound.get(client) ?? 0;
    const refusal: StreamRefusal | undefined = this.#inboundTotal >= this.#maxConnections ? 'connection_limit' : open >= this.#maxPerClient ? 'client_limit' : undefined;
    if (refusal) {
      // Closed at once, before a byte is read: a client over its share gets nothing to hold on to.
      sock.on('error', () => {});
      sock.destroy();
      this.#refused(refusal, client);
      return;
    }
    this.#inbound.set(client, open + 1);
    this.#inboundTotal++;
    this.#sockets.add(sock);
    const from = formatHostPort({ host: client, port: sock.remotePort ?? 0 });
    const deadline = setTimeout(() => {
      this.#refused('deadline', client);
      sock.destroy();
    }, this.#opts.streamTimeout ?? 10_000);
    deadline.unref();
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      clearTimeout(deadline);
      this.#sockets.delete(sock);
      this.#inboundTotal--;
      const n = (this.#inbound.get(client) ?? 1) - 1;
      if (n <= 0) this.#inbound.delete(client);
      else this.#inbound.set(client, n);
    });
    readFrame(sock, this.#maxStream, this.#gate, (err, body) => {
      if (err || !body) {
        if (err && !(err instanceof GossipStreamClosedError)) this.#refused('frame', client);
        sock.destroy();
        return;
      }
      let replied = false;
      try {
        this.#onStream?.(body, from, (resp) => {
          if (replied || sock.destroyed) return;
          replied = true;
          sock.end(frame(resp, this.#gate));
        });
      } catch (e) {
        this.#log.error({ err: e }, 'gossip stream handler threw');
      }
      if (!replied) sock.end();
    });
  }

  #refused(reason: StreamRefusal, client: string): void {
    this.#opts.onRefused?.(reason);
    if (reason === 'frame') return; // counted by the gate or as malformed; not worth a log line each
    const key = `${reason}:${client}`;
    if (this.#warned.has(key)) return;
    if (this.#warned.size > 1000) this.#warned.clear();
    this.#warned.add(key);
    this.#log.warn({ client, reason, maxConnections: this.#maxConnections, maxConnectionsPerClient: this.#maxPerClient }, 'gossip stream closed by a limit (logged once per client and reason)');
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

/** The peer closed before a whole frame arrived: not a protocol violation worth counting. */
class GossipStreamClosedError extends GossipStreamError {}

function frame(body: Uint8Array, gate: StreamGate | undefined): Buffer {
  const head = gate ? gate.head(body.length) : new Uint8Array(0);
  const out = Buffer.allocUnsafe(6 + head.length + body.length);
  out.writeUInt32BE(body.length, 0);
  out.writeUInt16BE(head.length, 4);
  out.set(head, 6);
  out.set(body, 6 + head.length);
  return out;
}

/**
 * Reads one frame. The length and head length are checked from the first 6
 * bytes, the head by the gate as soon as it is complete; only then is the
 * payload kept. Without a gate the head must be empty.
 */
function readFrame(sock: Socket, max: number, gate: StreamGate | undefined, cb: (err: Error | undefined, body?: Buffer) => void): void {
  let chunks: Buffer[] = [];
  let have = 0;
  let need = -1;
  let headLen = -1;
  let admitted = false;
  let done = false;
  const finish = (err: Error | undefined, body?: Buffer) => {
    if (done) return;
    done = true;
    sock.off('data', onData);
    sock.off('end', onEnd);
    chunks = [];
    cb(err, body);
  };
  const onEnd = () => finish(new GossipStreamClosedError('stream ended before a whole frame'));
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    have += chunk.length;
    if (need < 0) {
      if (have < 6) return;
      const prefix = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      need = prefix.readUInt32BE(0);
      headLen = prefix.readUInt16BE(4);
      if (need > max) return finish(new GossipStreamError(`stream frame of ${need} bytes exceeds the ${max}-byte limit`));
      if (headLen > MAX_STREAM_HEAD) return finish(new GossipStreamError(`stream head of ${headLen} bytes exceeds the ${MAX_STREAM_HEAD}-byte limit`));
      if ((headLen > 0) !== (gate !== undefined)) return finish(new GossipStreamError(gate ? 'stream frame without a head' : 'unexpected stream head'));
    }
    if (!admitted) {
      if (have < 6 + headLen) return;
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (gate && !gate.admit(all.subarray(6, 6 + headLen), need)) return finish(new GossipStreamError('stream head refused'));
      admitted = true;
      chunks = [all];
    }
    if (have >= 6 + headLen + need) {
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      finish(undefined, all.subarray(6 + headLen, 6 + headLen + need));
    }
  };
  sock.on('data', onData);
  sock.on('end', onEnd);
}
