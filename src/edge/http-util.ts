import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';

/** RFC 9110 7.6.1 hop-by-hop headers, plus `expect` (answered by the gateway itself) and h2c's settings. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'expect',
]);

/** Lengths of names in `sets`: a header name of another length is in none of them, so it needs no lower-casing to check. */
export function nameLengths(...sets: ReadonlySet<string>[]): Uint8Array {
  const table = new Uint8Array(64);
  for (const set of sets) for (const name of set) if (name.length < table.length) table[name.length] = 1;
  return table;
}

/** Whether a header name of this length may be in a set summarised by nameLengths(). */
export function mayBeIn(lengths: Uint8Array, name: string): boolean {
  return name.length < lengths.length && lengths[name.length] === 1;
}

/**
 * Header names listed in a Connection header are hop-by-hop too. Returns `into`
 * unchanged (often null) for the common `keep-alive` / `close` values, so the
 * usual response costs no allocation.
 */
export function connectionTokens(value: string, into: Set<string> | null): Set<string> | null {
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return into;
  }
  let set = into;
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase();
    if (t && t !== 'close' && t !== 'keep-alive') (set ??= new Set<string>()).add(t);
  }
  return set;
}

const REQUEST_ID = /^[A-Za-z0-9+/=._:-]{8,200}$/;

/** An incoming X-Request-Id is kept only when it is a sane token (no injection into logs or headers). */
export function isValidRequestId(value: string): boolean {
  return REQUEST_ID.test(value);
}

/**
 * `Host` value to its lower-case name. Not for routing: use prepareRequest() /
 * parseAuthority() in normalize.ts, which also remove the trailing dot, check the
 * port and reconcile h2 :authority with Host.
 */
export function hostWithoutPort(raw: string): string {
  if (raw === '') return '';
  if (raw.charCodeAt(0) === 91 /* '[' */) {
    const end = raw.indexOf(']');
    return (end < 0 ? raw : raw.slice(0, end + 1)).toLowerCase();
  }
  const colon = raw.indexOf(':');
  const host = colon < 0 ? raw : raw.slice(0, colon);
  // Most clients already send lower case; skip the allocation then.
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c >= 65 && c <= 90) return host.toLowerCase();
  }
  return host;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let from = 0;
  while (from < header.length) {
    const at = header.indexOf(name, from);
    if (at < 0) return undefined;
    const before = at === 0 ? ';' : header[at - 1]!;
    if ((before === ';' || before === ' ') && header[at + name.length] === '=') {
      const start = at + name.length + 1;
      const end = header.indexOf(';', start);
      const value = (end < 0 ? header.slice(start) : header.slice(start, end)).trim();
      return value === '' ? undefined : value;
    }
    from = at + name.length;
  }
  return undefined;
}

/** Every error the gateway itself answers is JSON that names the reason. */
export function sendError(
  res: ServerResponse | Http2ServerResponse,
  status: number,
  reason: string,
  message: string,
  extra: Record<string, string> = {},
  headers: string[] = [],
): void {
  const body = JSON.stringify({ error: reason, message, ...extra });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const flat = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'cache-control', 'no-store', ...headers];
  if ('stream' in res) {
    const obj: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) obj[flat[i]!] = flat[i + 1]!;
    res.writeHead(status, obj);
  } else {
    res.writeHead(status, flat);
  }
  res.end(body);
}
