import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from '../../util/logger.ts';
import type { Responder } from '../responder.ts';
import { answerDuration } from '../metrics.ts';

const RECV_BUFFER = 4 * 1024 * 1024;

/**
 * dgram resolves the destination of every send through dns.lookup, which for
 * an IP literal still defers a tick. Peers are always IP literals here (the
 * address a datagram came from), so answer synchronously and only fall back
 * for names (bind addresses). A colon means IPv6; a first and last character
 * that are digits mean IPv4 (no host name ends in a digit: TLDs are not
 * numeric). Checking two characters instead of scanning the string was
 * measurable: this runs for every answer (1-2% of the server's CPU per query
 * in a profile under dnsperf).
 */
function literalLookup(address: string, family: unknown, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const last = address.charCodeAt(address.length - 1);
  const first = address.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39 && last >= 0x30 && last <= 0x39 && address.indexOf(':') === -1) return cb(null, address, 4);
  if (address.indexOf(':') !== -1) return cb(null, address, 6);
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
