import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from '../../util/logger.ts';
import type { Responder } from '../responder.ts';
import { answerDuration } from '../metrics.ts';

const RECV_BUFFER = 4 * 1024 * 1024;

/**
 * dgram resolves the destination of every send through dns.lookup, which for
 * an IP literal still defers a tick. Peers are always IP literals here, so
 * answer synchronously and only fall back for names (bind addresses). Only
 * digits and dots is IPv4 (no hostname is all-numeric); a colon is IPv6.
 */
function literalLookup(address: string, family: unknown, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  let v4 = address.length > 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 0x3a) return cb(null, address, 6);
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2e)) v4 = false;
  }
  if (v4) return cb(null, address, 4);
  dnsLookup(address, { family: family === 6 ? 6 : 4 }, (err, a, fam) => cb(err, a, fam));
}

/** One UDP socket answering through the shared responder. */
export class UdpListener {
  readonly #socket: dgram.Socket;
  readonly #host: string;
  readonly #logger: Logger;

  constructor(host: string, responder: Responder, logger: Logger, ipv6Only: boolean) {
    this.#host = host;
    this.#logger = logger;
    const type = isIP(host) === 6 ? 'udp6' : 'udp4';
    this.#socket = dgram.createSocket({ type, ipv6Only, lookup: literalLookup as never });
    const socket = this.#socket;
    const observe = answerDuration.child({ transport: 'udp' });
    socket.on('message', (msg, rinfo) => {
      const t0 = performance.now();
      let out: Buffer | undefined;
      try {
        out = responder.answer(msg, rinfo.address, false);
      } catch (err) {
        // a bug must cost one query, not the listener
        this.#logger.error({ err }, 'dns: query handling failed');
        return;
      }
      if (out !== undefined) socket.send(out, rinfo.port, rinfo.address);
      observe.observe((performance.now() - t0) / 1000);
    });
    // send errors (EPERM, ENOBUFS under load) arrive here; never fatal
    socket.on('error', (err) => this.#logger.warn({ err: err.message }, 'dns: udp socket error'));
  }

  bind(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#socket.once('error', onError);
      // not exclusive: in cluster workers every worker then reads the one shared socket
      this.#socket.bind({ address: this.#host, port, exclusive: false }, () => {
        this.#socket.off('error', onError);
        try {
          this.#socket.setRecvBufferSize(RECV_BUFFER);
          this.#socket.setSendBufferSize(RECV_BUFFER);
        } catch {
          // capped by net.core.rmem_max; the default still works
        }
        resolve(this.#socket.address().port);
      });
    });
  }

  address(): { address: string; port: number } {
    const a = this.#socket.address();
    return { address: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // never bound, or closed already
      }
    });
  }
}
