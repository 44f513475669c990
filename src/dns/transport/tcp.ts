import net from 'node:net';
import type { Logger } from '../../util/logger.ts';
import type { Responder } from '../responder.ts';
import { answerDuration, countDropped, tcpConnections } from '../metrics.ts';

export interface TcpSettings {
  idleTimeoutMs: number;
  maxConnections: number;
  /** Longest query accepted; a bigger length prefix closes the connection. */
  maxMessage: number;
}

/**
 * DNS over TCP (RFC 7766): length-prefixed messages, pipelined queries answered
 * in order, an idle timeout, and reading paused while the peer doesn't read
 * its answers, so one connection holds at most one query and its backlog.
 */
export class TcpListener {
  readonly #server: net.Server;
  readonly #host: string;
  readonly #sockets = new Set<net.Socket>();
  readonly #ipv6Only: boolean;
  #settings: TcpSettings;

  constructor(host: string, responder: Responder, logger: Logger, settings: TcpSettings, ipv6Only: boolean) {
    this.#host = host;
    this.#settings = settings;
    this.#ipv6Only = ipv6Only;
    this.#server = net.createServer({ noDelay: true }, (socket) => this.#connection(socket, responder, logger));
    this.#server.maxConnections = settings.maxConnections;
    this.#server.on('error', (err) => logger.warn({ err: err.message }, 'dns: tcp server error'));
  }

  set settings(s: TcpSettings) {
    this.#settings = s;
    this.#server.maxConnections = s.maxConnections;
  }

  #connection(socket: net.Socket, responder: Responder, logger: Logger): void {
    this.#sockets.add(socket);
    tcpConnections.inc();
    const { idleTimeoutMs, maxMessage } = this.#settings;
    const peer = socket.remoteAddress ?? '';
    const observe = answerDuration.child({ transport: 'tcp' });
    let pending: Buffer | undefined;
    let blocked = false;

    const drainQueue = () => {
      while (!blocked && pending && pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (len === 0 || len > maxMessage) {
          countDropped('tcpOversize');
          socket.destroy();
          return;
        }
        if (pending.length < 2 + len) return;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.length === 2 + len ? undefined : pending.subarray(2 + len);
        const t0 = performance.now();
        let out: Buffer | undefined;
        try {
          out = responder.answer(msg, peer, true);
        } catch (err) {
          logger.error({ err }, 'dns: query handling failed');
          socket.destroy();
          return;
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
    };

    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      pending = pending ? Buffer.concat([pending, chunk]) : chunk;
      drainQueue();
    });
    socket.on('drain', () => {
      blocked = false;
      socket.resume();
      drainQueue();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.#sockets.delete(socket);
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
