import http2, { type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { ConnectionLimits } from './listener-policy.ts';
import { edgeMetrics } from '../metrics/edge.ts';

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants;

/** Node's own h2 server options for a listener's limits (nghttp2 enforces them). */
export function h2ServerOptions(limits: ConnectionLimits): http2.ServerOptions {
  return {
    settings: {
      maxConcurrentStreams: limits.h2.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderSize,
      initialWindowSize: 65535,
      enablePush: false,
    },
    // Pairs, pseudo-headers included; the proxy answers 431 above maxHeaderCount itself.
    maxHeaderListPairs: limits.maxHeaderCount + 8,
    maxSessionMemory: 32,
    maxSettings: 32,
    maxOutstandingPings: 10,
    maxSessionInvalidFrames: limits.h2.maxInvalidFrames,
    maxSessionRejectedStreams: limits.h2.maxConcurrentStreams,
    unknownProtocolTimeout: limits.handshakeTimeoutMs,
  };
}

/** A per-second counter: `hit()` is true once more than `max` hits fell in the current second. */
class RateWindow {
  #start = 0;
  #n = 0;
  constructor(private readonly max: number) {}
  hit(now: number): boolean {
    if (now - this.#start >= 1000) {
      this.#start = now;
      this.#n = 0;
    }
    return ++this.#n > this.max;
  }
}

/**
 * The limits node's h2 server has no option for, applied per session:
 * - a session must send its first request within headersTimeout;
 * - a session with no open stream for idleTimeout gets GOAWAY;
 * - each stream must have sent its whole request within requestTimeout;
 * - rapid reset (CVE-2023-44487), SETTINGS and PING floods: over the
 *   per-second budget the session gets GOAWAY(ENHANCE_YOUR_CALM) and is closed.
 * nghttp2 1.61 (node 20.12.1+) also bounds CONTINUATION frames (CVE-2024-27983 family).
 */
export function guardH2Session(session: Http2Session, getLimits: () => ConnectionLimits): void {
  let limits = getLimits();
  let open = 0;
  let idle: NodeJS.Timeout | null = null;
  const resets = new RateWindow(limits.h2.maxResetsPerSecond);
  const settings = new RateWindow(limits.h2.maxSettingsPerSecond);
  const pings = new RateWindow(limits.h2.maxPingsPerSecond);
  let calmed = false;
  const calm = (reason: string) => {
    if (calmed || session.destroyed) return;
    calmed = true;
    edgeMetrics.clientErrors.labels(reason).inc();
    // GOAWAY first (the peer learns why, and nghttp2 refuses any stream after it), then the
    // connection goes once the frame is out: destroy() alone sends GOAWAY(NO_ERROR).
    try {
      session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
    } catch {
      /* already closing */
    }
    setTimeout(() => session.destroy(), 50).unref();
  };
  const armIdle = (ms: number, reason: string) => {
    if (idle !== null) clearTimeout(idle);
    idle = setTimeout(() => {
      edgeMetrics.clientErrors.labels(reason).inc();
      session.close();
      // A peer that never acknowledges the GOAWAY does not keep the connection either.
      setTimeout(() => session.destroy(), 1000).unref();
    }, ms);
    idle.unref();
  };
  // Until the first request: the header timeout; afterwards, whenever no stream is open: the idle timeout.
  armIdle(limits.headersTimeoutMs, 'h2_no_request');
  session.on('stream', (stream: ServerHttp2Stream) => {
    limits = getLimits();
    open++;
    if (idle !== null) {
      clearTimeout(idle);
      idle = null;
    }
    let timer: NodeJS.Timeout | null = null;
    if (!stream.endAfterHeaders) {
      timer = setTimeout(() => {
        timer = null;
        edgeMetrics.clientErrors.labels('request_timeout').inc();
        if (!stream.headersSent && !stream.destroyed) {
          try {
            stream.respond({ ':status': 408, 'content-type': 'application/json' });
            stream.end(JSON.stringify({ error: 'request_timeout', message: 'the request was not received in time' }));
          } catch {
            stream.close(NGHTTP2_CANCEL);
          }
        } else {
          stream.close(NGHTTP2_CANCEL);
        }
      }, limits.requestTimeoutMs);
      timer.unref();
      stream.once('end', () => {
        if (timer !== null) clearTimeout(timer);
        timer = null;
      });
    }
    stream.once('close', () => {
      if (timer !== null) clearTimeout(timer);
      open--;
      // A stream reset before the gateway sent its response headers: the shape of a rapid-reset flood.
      // ('finish' is no sign of an answer: node ends the writable side of a reset stream too.)
      if (!stream.headersSent && stream.rstCode !== NGHTTP2_NO_ERROR && resets.hit(Date.now())) calm('h2_rapid_reset');
      if (open === 0 && !session.destroyed && !session.closed) armIdle(limits.idleTimeoutMs, 'h2_idle');
    });
  });
  session.on('remoteSettings', () => {
    if (settings.hit(Date.now())) calm('h2_settings_flood');
  });
  session.on('ping', () => {
    if (pings.hit(Date.now())) calm('h2_ping_flood');
  });
  session.on('error', () => session.destroy());
  session.once('close', () => {
    if (idle !== null) clearTimeout(idle);
  });
}
