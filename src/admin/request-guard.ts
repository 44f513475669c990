import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { AdminHttpError } from './errors.ts';

/**
 * 403: the Host header names neither an IP address nor a name this admin
 * listener answers to. A browser sends the name of the page's site as Host:
 * a site whose name was re-pointed at 127.0.0.1 (DNS rebinding) is same-origin
 * with the admin listener for the browser, so only the Host tells them apart.
 */
export class HostNotAllowedError extends AdminHttpError {
  constructor(host: string) {
    super('EP_ADMIN_HOST_NOT_ALLOWED', 403, [{ path: 'headers.host', message: `host ${JSON.stringify(host.slice(0, 255))} is not allowed here: use an IP address, localhost, or add the name to admin.allowedHosts` }]);
  }
}

/** 403: a browser sent this request on behalf of a page of another site (CSRF). */
export class CrossSiteRequestError extends AdminHttpError {
  constructor(detail: string) {
    super('EP_ADMIN_CROSS_SITE', 403, [{ path: 'headers.origin', message: `cross-site request refused (${detail}); the admin API answers its own dashboard and non-browser clients only` }]);
  }
}

/**
 * 415: a body that is not declared JSON. Browsers send text/plain, form and
 * multipart bodies to any site without asking it first (a "simple request");
 * any other content type needs a CORS preflight, which this listener never
 * grants. Requiring JSON makes a cross-site write impossible even from a
 * browser that sends no Origin.
 */
export class UnsupportedMediaTypeError extends AdminHttpError {
  constructor(type: string | undefined) {
    super('EP_ADMIN_MEDIA_TYPE', 415, [{ path: 'headers.content-type', message: `request bodies must be JSON: send Content-Type: application/json (got ${type ? JSON.stringify(type.slice(0, 100)) : 'none'})` }]);
  }
}

/** application/json and application/<anything>+json, parameters (charset) allowed. */
export const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9.!#$&^_-]+\+)?json\s*(?:;.*)?$/i;

export interface RequestGuardOptions {
  /** Names (besides IP addresses and localhost) the listener answers to, lower case, no trailing dot. */
  allowedHosts: readonly string[];
  /** The admin address's own host when it is a name. */
  ownHost?: string | undefined;
}

/** Host name without port, brackets, trailing dot or case; undefined when it does not parse. */
export function hostnameOf(authority: string): string | undefined {
  const a = authority.trim().toLowerCase();
  if (a === '') return undefined;
  let host: string;
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    if (end < 0) return undefined;
    host = a.slice(1, end);
    const rest = a.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return isIP(host) === 6 ? host : undefined;
  }
  const colon = a.indexOf(':');
  host = colon < 0 ? a : a.slice(0, colon);
  if (colon >= 0 && !/^\d{1,5}$/.test(a.slice(colon + 1))) return undefined;
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host === '' ? undefined : host;
}

/**
 * The admin listener's checks before any route runs:
 *
 * 1. Host (every request): an IP address (a rebinding attack needs a name),
 *    `localhost`, the admin address's own name, or a name in
 *    admin.allowedHosts. A request without Host (HTTP/1.0 tools) passes: a
 *    browser always sends one.
 * 2. Cross-site (every /v1 request and every write): `Sec-Fetch-Site` must be
 *    `same-origin` or `none` when present, and `Origin`, when present, must be
 *    the Host the request was sent to or an allowed name (the dashboard
 *    behind a reverse proxy that rewrites Host). Non-browser clients (the
 *    CLI, curl) send neither header.
 *
 * Content types are checked by the body parser (server.ts), which only runs
 * when there is a body.
 */
export function requestGuard(options: RequestGuardOptions) {
  const names = new Set(['localhost', ...options.allowedHosts.map((h) => h.toLowerCase().replace(/\.$/, ''))]);
  if (options.ownHost && isIP(options.ownHost) === 0) names.add(options.ownHost.toLowerCase());
  const allowedName = (host: string) => isIP(host) !== 0 || names.has(host);

  return async function guardRequest(req: FastifyRequest): Promise<void> {
    const host = req.headers.host;
    if (host !== undefined) {
      const name = hostnameOf(host);
      if (name === undefined || !allowedName(name)) throw new HostNotAllowedError(host);
    }
    const safe = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
    if (safe && !req.url.startsWith('/v1')) return;
    const site = req.headers['sec-fetch-site'];
    if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') throw new CrossSiteRequestError(`Sec-Fetch-Site: ${site.slice(0, 20)}`);
    const origin = req.headers.origin;
    if (typeof origin === 'string' && !sameOrigin(origin, host, names)) throw new CrossSiteRequestError(`Origin: ${origin.slice(0, 100)}`);
  };
}

/** Origin's host:port equals the Host the request was sent to, or Origin's name is an allowed one. */
function sameOrigin(origin: string, host: string | undefined, names: ReadonlySet<string>): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file: pages) and garbage
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const originName = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (isIP(originName) === 0 && names.has(originName) && originName !== 'localhost') return true;
  if (host === undefined) return false;
  const originPort = url.port || (url.protocol === 'https:' ? '443' : '80');
  const hostName = hostnameOf(host);
  const m = /:(\d{1,5})$/.exec(host.trim());
  const hostPort = m && !host.trim().endsWith(']') ? m[1]! : url.protocol === 'https:' ? '443' : '80';
  return hostName === originName && Number(hostPort) === Number(originPort);
}
