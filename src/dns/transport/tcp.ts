import net from 'node:net';
import type { Logger } from '../../util/logger.ts';
import type { Responder } from '../responder.ts';
import { clientAddressBytes } from '../wire/ip.ts';
import { answerDuration, countDropped, countTcpClosed, tcpConnections } from '../metrics.ts';

export interface TcpSettings {
  /** No complete query (and no answer waiting to be read) for this long: closed. Partial bytes don't count. */
  idleTimeoutMs: number;
  /** A message must arrive whole (and an answer be read by the client) within this after its first byte. */
  messageTimeoutMs: number;
  /** Closed this long after it was accepted, whatever it does. */
  maxConnectionDurationMs: number;
  /** Per listen address (and process). */
  maxConnections: number;
  /** Per client address (IPv6: per /64), per listen address and process. */
  maxConnectionsPerClient: number;
  /** Longest query accepted; a bigger length prefix closes the connection. */
  maxMessage: number;
}

const Phase = { IDLE: 0, READING: 1, WRITING: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** IPv4 clients by address; IPv6 clients by /64 (one host usually owns the whole /64). */
function clientKey(address: string): string {
  const b = clientAddressBytes(address);
  if (!b) return address;
  return b.length === 4 ? b.toString('hex') : b.subarray(0, 8).toString('hex');
}

/**
 * DNS over TCP (RFC 7766): length-prefixed messages, pipelined queries answered
 * in order, and reading paused while the peer doesn't read its answers, so one
 * connection holds at most one query and its backlog.
 *
 * A hostile client must not be able to hold connections by trickling bytes:
 * timers are armed on phase changes (idle -> reading a message -> writing
 * answers), never on each byte, so a message that arrives one byte at a time
 * still has `messageTimeout` from its first byte, and a connection lives at
 * most `maxConnectionDuration` whatever it sends. One client address holds at
 * most `maxConnectionsPerClient` connections, so it cannot take every slot.
 */
export class TcpListener {
  readonly #server: net.Server;
  readonly #host: string;
  readonly #sockets = new Set<net.Socket>();
  readonly #perClient = new Map<string, number>();
  readonly #ipv6Only: boolean;
  #settings: TcpSettings;

  constructor(host: string, responder: Responder, logger: Logger, settings: TcpSettings, ipv6Only: boolean) {
    this.#host = host;
    this.#settings = settings;
    this.#ipv6Only = ipv6Only;
    this.#server = net.createServer({ noDelay: true }, (socket) => this.#connection(socket, responder, logger));
    this.#server.maxConnections = settings.maxConnections;
    this.#server.on('drop', () => countTcpClosed('limit'));
    this.#server.on('error', (err) => logger.warn({ err: err.message }, 'dns: tcp server error'));
  }

  set settings(s: TcpSettings) {
    this.#settings = s;
    this.#server.maxConnections = s.maxConnections;
  }

  #connection(socket: net.Socket, responder: Responder, logger: Logger): void {
    const { idleTimeoutMs, messageTimeoutMs, maxConnectionDurationMs, maxConnectionsPerClient, maxMessage } = this.#settings;
    const peer = socket.remoteAddress ?? '';
    const key = clientKey(peer);
    const held = this.#perClient.get(key) ?? 0;
    if (held >= maxConnectionsPerClient) {
      countTcpClosed('client-limit');
      socket.destroy();
      return;
    }
    this.#perClient.set(key, held + 1);
    this.#sockets.add(socket);
    tcpConnections.inc();
    const observe = answerDuration.child({ transport: 'tcp' });
    let pending: Buffer | undefined;
    let blocked = false;
    let phase: Phase = Phase.IDLE;
    let timer: NodeJS.Timeout | undefined;

    const expire = (reason: 'idle' | 'message-timeout' | 'max-duration') => () => {
      countTcpClosed(reason);
      socket.destroy();
    };
    const onIdle = expire('idle');
    const onMessage = expire('message-timeout');
    const lifetime = setTimeout(expire('max-duration'), maxConnectionDurationMs);
    /** Re-arms the phase timer when the phase changes or a new message starts; bytes within a message never do. */
    const setPhase = (next: Phase, newMessage: boolean) => {
      if (next === phase && !newMessage) return;
      phase = next;
      clearTimeout(timer);
      timer = setTimeout(next === Phase.IDLE ? onIdle : onMessage, next === Phase.IDLE ? idleTimeoutMs : messageTimeoutMs);
    };

    const drainQueue = (): boolean => {
      let answered = false;
      while (!blocked && pending && pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (len === 0 || len > maxMessage) {
          countDropped('tcpOversize');
          socket.destroy();
          return answered;
        }
        if (pending.length < 2 + len) return answered;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.length === 2 + len ? undefined : pending.subarray(2 + len);
        answered = true;
        const t0 = performance.now();
        let out: Buffer | undefined;
        try {
          out = responder.answer(msg, peer, true);
        } catch (err) {
          logger.error({ err }, 'dns: query handling failed');
          socket.destroy();
          return answered;
        }
        if (out === undefined) continue;
        const framed = Buffer.allocUnsafe(out.length + 2);
        framed.writeUInt16BE(out.length, 0);
        out.copy(framed, 2);
        if (!socket.write(framed)) {
          blocked = true;
          socket.pause();
        }
        observe.observe((performance.now() - t0) / 1000);
      }
      return answered;
    };
    const step = () => {
      const answered = drainQueue();
      if (socket.destroyed) return;
      if (blocked) setPhase(Phase.WRITING, false);
      else if (pending) setPhase(Phase.READING, answered);
      else setPhase(Phase.IDLE, answered);
    };

    setPhase(Phase.IDLE, true);
    socket.on('data', (chunk: Buffer) => {
      pending = pending ? Buffer.concat([pending, chunk]) : chunk;
      step();
    });
    socket.on('drain', () => {
      blocked = false;
      socket.resume();
      step();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      clearTimeout(lifetime);
      this.#sockets.delete(socket);
      const n = (this.#perClient.get(key) ?? 1) - 1;
      if (n <= 0) this.#perClient.delete(key);
      else this.#perClient.set(key, n);
      tcpConnections.dec();
      pending = undefined;
    });
  }

  bind(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      // not exclusive: cluster workers share the listening socket, as the HTTP listeners do
      this.#server.listen({ host: this.#host, port, exclusive: false, ipv6Only: this.#ipv6Only }, () => {
        this.#server.off('error', onError);
        resolve((this.#server.address() as net.AddressInfo).port);
      });
    });
  }

  address(): { address: string; port: number } {
    const a = this.#server.address() as net.AddressInfo;
    return { address: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const s of this.#sockets) s.destroy();
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
    });
  }
}
