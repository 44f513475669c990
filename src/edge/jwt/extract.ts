import type { IncomingHttpHeaders } from 'node:http';

type LocationConfig = { header?: string | undefined; prefix?: string | undefined; cookie?: string | undefined; query?: string | undefined; protocol?: string | undefined };

/** One place a provider looks for its token, compiled once. */
export type TokenLocation =
  | { kind: 'header'; name: string; prefix: string; prefixLower: string }
  | { kind: 'cookie'; name: string }
  | { kind: 'query'; name: string }
  /** An entry of Sec-WebSocket-Protocol starting with `name` (browsers cannot set Authorization on a WebSocket). */
  | { kind: 'protocol'; name: string };

export const DEFAULT_LOCATION: TokenLocation = { kind: 'header', name: 'authorization', prefix: 'Bearer ', prefixLower: 'bearer ' };

export function compileLocations(from: LocationConfig | LocationConfig[] | undefined): TokenLocation[] {
  if (from === undefined) return [DEFAULT_LOCATION];
  return (Array.isArray(from) ? from : [from]).map((l): TokenLocation => {
    if (l.cookie !== undefined) return { kind: 'cookie', name: l.cookie };
    if (l.query !== undefined) return { kind: 'query', name: l.query };
    if (l.protocol !== undefined) return { kind: 'protocol', name: l.protocol };
    const name = (l.header ?? 'authorization').toLowerCase();
    // Authorization always carries a scheme; other headers carry the bare token unless a prefix is set.
    const prefix = l.prefix ?? (name === 'authorization' ? 'Bearer ' : '');
    return { kind: 'header', name, prefix, prefixLower: prefix.toLowerCase() };
  });
}

/** A token found in a request, and where. `token` is '' when the location is present but empty. */
export interface FoundToken {
  token: string;
  location: TokenLocation;
}

/**
 * A request as the authenticator reads it: its raw field list, and the
 * node:http header object, which the native engine builds on first use. A
 * token header is read from the raw list, so a JWT route builds no header
 * object for it.
 */
export interface RequestHeaders {
  readonly rawHeaders: readonly string[];
  readonly headers: IncomingHttpHeaders;
}

/** What authenticate() takes: a request (RequestHeaders) or, as before, a header object. */
export type HeaderInput = IncomingHttpHeaders | RequestHeaders;

function isRequest(input: HeaderInput): input is RequestHeaders {
  // Header objects have lower-case names only: `rawHeaders` is never one of them.
  return Array.isArray((input as RequestHeaders).rawHeaders);
}

/** The node:http header object of either input. */
export function headerObject(input: HeaderInput): IncomingHttpHeaders {
  return isRequest(input) ? input.headers : input;
}

/**
 * Field `name` (lower case) as the header object would give it. A field sent
 * once is read from the raw list; a repeated one (node:http joins some, keeps
 * the first of others) from the header object, so both engines agree.
 */
export function headerValue(input: HeaderInput, name: string): string | string[] | undefined {
  if (!isRequest(input)) return input[name];
  const raw = input.rawHeaders;
  let found: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length !== name.length || (n !== name && n.toLowerCase() !== name)) continue;
    if (found !== undefined) return input.headers[name];
    found = raw[i + 1]!;
  }
  return found;
}

/**
 * Looks in each location in order and returns the first token present. A
 * header whose value lacks the prefix (e.g. `Basic ...` where `Bearer ` is
 * expected) counts as absent, as it belongs to another scheme.
 */
export function findToken(locations: readonly TokenLocation[], input: HeaderInput, url: string): FoundToken | undefined {
  for (let i = 0; i < locations.length; i++) {
    const loc = locations[i]!;
    let token: string | undefined;
    if (loc.kind === 'header') token = fromHeader(loc, headerValue(input, loc.name));
    else if (loc.kind === 'cookie') token = readCookie(headerObject(input).cookie, loc.name);
    else if (loc.kind === 'query') token = readQuery(url, loc.name);
    else token = readProtocol(headerObject(input)['sec-websocket-protocol'], loc.name);
    if (token !== undefined) return { token, location: loc };
  }
  return undefined;
}

function fromHeader(loc: Extract<TokenLocation, { kind: 'header' }>, value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = typeof value === 'string' ? value : value[0] ?? '';
  const plen = loc.prefix.length;
  if (plen === 0) return v.trim();
  if (v.length < plen - 1) return undefined;
  // Schemes are case-insensitive (RFC 9110 §11.1); the fast path avoids lower-casing.
  if (!v.startsWith(loc.prefix) && v.slice(0, plen).toLowerCase() !== loc.prefixLower) {
    // "Bearer" with nothing after it is an empty token, not another scheme.
    return v.trim().toLowerCase() === loc.prefixLower.trim() ? '' : undefined;
  }
  return v.slice(plen).trim();
}

/** The rest of the first Sec-WebSocket-Protocol entry that starts with `prefix`. */
export function readProtocol(value: string | string[] | undefined, prefix: string): string | undefined {
  if (value === undefined) return undefined;
  for (const part of (typeof value === 'string' ? value : value.join(',')).split(',')) {
    const p = part.trim();
    if (p.startsWith(prefix)) return p.slice(prefix.length);
  }
  return undefined;
}

/** Sec-WebSocket-Protocol without the entries that start with `prefix`, or undefined when nothing else is left. */
export function removeProtocol(value: string | string[], prefix: string): string | undefined {
  const kept = (typeof value === 'string' ? value : value.join(',')).split(',').map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith(prefix));
  return kept.length > 0 ? kept.join(', ') : undefined;
}

/** The value of cookie `name`, without allocating for the other cookies. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    let s = start;
    while (s < end && header.charCodeAt(s) === 32) s++;
    const eq = header.indexOf('=', s);
    if (eq > 0 && eq < end && eq - s === name.length && header.startsWith(name, s)) {
      let value = header.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    start = end + 1;
  }
  return undefined;
}

/** The cookie header without cookie `name`, or undefined when nothing else is left. */
export function removeCookie(header: string, name: string): string | undefined {
  const kept: string[] = [];
  for (const part of header.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if ((eq < 0 ? p : p.slice(0, eq)) === name) continue;
    kept.push(p);
  }
  return kept.length > 0 ? kept.join('; ') : undefined;
}

/** The value of query parameter `name` (first occurrence), '' when undecodable so it fails as malformed. */
export function readQuery(url: string, name: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  let start = q + 1;
  const end = url.indexOf('#', start) < 0 ? url.length : url.indexOf('#', start);
  while (start < end) {
    let amp = url.indexOf('&', start);
    if (amp < 0 || amp > end) amp = end;
    const eq = url.indexOf('=', start);
    const keyEnd = eq >= 0 && eq < amp ? eq : amp;
    if (paramName(url.slice(start, keyEnd)) === name) {
      if (keyEnd === amp) return '';
      try {
        return decodeURIComponent(url.slice(keyEnd + 1, amp).replace(/\+/g, ' '));
      } catch {
        return '';
      }
    }
    start = amp + 1;
  }
  return undefined;
}

/** The URL without any occurrence of parameter `name`; the rest is kept byte for byte. */
export function removeQueryParam(url: string, name: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? url.length : hash);
  const kept = query.split('&').filter((pair) => {
    if (pair === '') return false;
    const eq = pair.indexOf('=');
    return paramName(eq < 0 ? pair : pair.slice(0, eq)) !== name;
  });
  return url.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : '') + (hash < 0 ? '' : url.slice(hash));
}

function paramName(raw: string): string {
  if (raw.indexOf('%') < 0 && raw.indexOf('+') < 0) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}
