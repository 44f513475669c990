import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledRoute } from './compile.ts';
import { readCookie } from './http-util.ts';

/** Receives the Set-Cookie value when a sticky cookie was assigned to a request that had none. */
export interface StickyCookieSink {
  stickyCookie(setCookie: string): void;
}

/**
 * Which cluster of the route's split a request goes to — the same rules for
 * proxied requests and Upgrade (WebSocket) requests: the override header names
 * a cluster of the split (any weight, even 0); else the sticky key (header or
 * cookie, assigned when missing) picks by weighted rendezvous hashing; else
 * smooth weighted round-robin. -1 when every weight is 0.
 */
export function chooseCluster(route: CompiledRoute, headers: IncomingHttpHeaders, scheme: 'http' | 'https', available: (i: number) => boolean, sink: StickyCookieSink): number {
  const split = route.split;
  if (route.overrideHeader !== null) {
    const forced = headers[route.overrideHeader];
    if (typeof forced === 'string') {
      const i = split.indexOf(forced);
      if (i >= 0) return i;
    }
  }
  const sticky = route.sticky;
  if (sticky !== null) {
    let key: string | undefined;
    if (sticky.header !== null) {
      const v = headers[sticky.header];
      key = typeof v === 'string' && v !== '' ? v : undefined;
    } else if (sticky.cookie !== null) {
      key = readCookie(headers.cookie, sticky.cookie);
      if (key === undefined) {
        key = randomBytes(12).toString('base64url');
        sink.stickyCookie(`${sticky.cookie}=${key}${sticky.cookieAttributes}${scheme === 'https' ? '; Secure' : ''}`);
      }
    }
    if (key !== undefined) return split.pick(key, available);
  }
  return split.next(available);
}
