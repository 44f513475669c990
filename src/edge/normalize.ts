/**
 * Request normalisation before routing: one canonical authority and one
 * canonical path, so that the route decision, the JWT check and what the
 * upstream receives all agree on what was asked for.
 *
 * Pure functions over strings (no node:http objects): the HTTP/1.1 engine and
 * the node:http / node:http2 adapters call the same code. Per-request failures
 * are returned as values, not thrown: a hostile client must not make the gateway
 * pay for stack traces.
 */
import { Listener, PathNormalization } from '../config/schema/listeners.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

/** What happens to `%2F` / `%5C` (encoded `/` and `\`) in a path. Envoy: path_with_escaped_slashes_action. */
export type EscapedSlashesAction = 'keep' | 'reject' | 'unescape';

export interface PathPolicy {
  /** RFC 3986 §6.2.2: decode unreserved %XX, upper-case the rest, resolve `.` and `..` segments, `\` -> `/`. */
  readonly normalize: boolean;
  /** `//` -> `/` (nginx merge_slashes, Envoy merge_slashes). */
  readonly mergeSlashes: boolean;
  /** keep: `%2F` is data, not a separator (RFC 3986), and is forwarded as is; reject: 400; unescape: decoded, then normalised as `/`. */
  readonly escapedSlashes: EscapedSlashesAction;
}

/** `listeners[].paths` when absent: the schema's defaults (src/config/schema/listeners.ts). */
export const DEFAULT_PATH_POLICY: PathPolicy = Object.freeze({ ...defaultsOf(PathNormalization, ['normalize', 'mergeSlashes', 'escapedSlashes']) });

export interface Rejection {
  readonly ok: false;
  readonly status: 400;
  /** Stable machine-readable reason, the JSON `error` of the 400. */
  readonly reason: 'invalid_path' | 'escaped_slash' | 'ambiguous_path' | 'invalid_authority' | 'authority_mismatch' | 'duplicate_host' | 'invalid_target';
  readonly message: string;
}

export interface NormalizedPath {
  readonly ok: true;
  /** The path routing, auth and the upstream all see. */
  readonly path: string;
  /** The path contained `%2F` or `%5C` that was kept (only with escapedSlashes `keep`, or when the route decides). */
  readonly escapedSlash: boolean;
}

function reject(reason: Rejection['reason'], message: string): Rejection {
  return { ok: false, status: 400, reason, message };
}

const HEX = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(b: number): boolean {
  return (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b === 45 || b === 46 || b === 95 || b === 126;
}

/**
 * Characters that may stand in a path as they are (RFC 3986 pchar without `%`, plus `/`).
 * Everything else printable is percent-encoded the way browsers do; controls are refused.
 */
const PATH_SAFE = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/") PATH_SAFE[c.charCodeAt(0)] = 1;

/**
 * Normalises the path part of a request target (no query string) per `policy`.
 * The result is idempotent: normalising it again gives it back unchanged.
 */
export function normalizePath(raw: string, policy: PathPolicy = DEFAULT_PATH_POLICY): NormalizedPath | Rejection {
  if (raw === '*') return { ok: true, path: '*', escapedSlash: false };
  if (raw.charCodeAt(0) !== 47 /* '/' */) return reject('invalid_target', 'the request target must start with "/"');
  if (!policy.normalize) return checkOnly(raw);
  // Fast path (most requests): only characters that stand as they are, no escapes, no backslash.
  let clean = true;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 128 || PATH_SAFE[c] !== 1) {
      clean = false;
      break;
    }
  }
  if (clean) return removeDotSegments(raw, policy.mergeSlashes, false);
  // Pass 1: one left-to-right scan that decodes what RFC 3986 says is equivalent.
  let out = '';
  let escapedSlash = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37 /* % */) {
      const hi = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 1)) : -1;
      const lo = hi >= 0 ? hexValue(raw.charCodeAt(i + 2)) : -1;
      if (lo < 0) return reject('invalid_path', 'the path has a malformed percent-encoding');
      const b = hi * 16 + lo;
      i += 2;
      if (isUnreserved(b)) {
        out += String.fromCharCode(b);
      } else if (b === 0x2f || b === 0x5c) {
        if (policy.escapedSlashes === 'unescape') out += '/';
        else {
          if (policy.escapedSlashes === 'reject') return reject('escaped_slash', 'the path has an encoded "/" or "\\" (%2F, %5C)');
          escapedSlash = true;
          out += b === 0x2f ? '%2F' : '%5C';
        }
      } else if (b === 0) {
        return reject('invalid_path', 'the path has an encoded NUL');
      } else {
        out += `%${HEX[hi]}${HEX[lo]}`;
      }
      continue;
    }
    if (c === 92 /* \ */) {
      // Browsers, Envoy (via Chromium's canonicaliser) and many servers read `\` as `/`.
      out += '/';
      continue;
    }
    if (c < 128 && PATH_SAFE[c] === 1) {
      out += raw[i];
      continue;
    }
    if (c <= 0x20 || c === 0x7f || c > 0xff) return reject('invalid_path', 'the path has a control, space or non-byte character');
    if (c === 35 /* # */) return reject('invalid_path', 'a request target has no fragment');
    // Other printable ASCII and raw bytes >= 0x80 (node gives them as latin1): encoded like a browser would.
    out += `%${HEX[c >> 4]}${HEX[c & 15]}`;
  }
  return removeDotSegments(out, policy.mergeSlashes, escapedSlash);
}

/** normalize: false still refuses what no server should route on (controls, fragments). */
function checkOnly(raw: string): NormalizedPath | Rejection {
  let escapedSlash = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 35) return reject('invalid_path', 'the path has a control character, space or fragment');
    if (c === 37 && i + 2 < raw.length && raw.charCodeAt(i + 1) === 50 /* 2 */ && (raw.charCodeAt(i + 2) | 0x20) === 102 /* f */) escapedSlash = true;
    if (c === 37 && i + 2 < raw.length && raw.charCodeAt(i + 1) === 53 /* 5 */ && (raw.charCodeAt(i + 2) | 0x20) === 99 /* c */) escapedSlash = true;
  }
  return { ok: true, path: raw, escapedSlash };
}

/**
 * RFC 3986 §5.2.4 on a path that starts with "/", by segments, then (optionally)
 * merging empty segments, in Envoy's order. A ".." that would remove an empty
 * segment is refused: servers that merge slashes first (nginx, Go's path.Clean)
 * resolve "/a//../b" to "/b", RFC 3986 to "/a/b", and the gateway must not
 * route one while the upstream serves the other.
 */
function removeDotSegments(path: string, mergeSlashes: boolean, escapedSlash: boolean): NormalizedPath | Rejection {
  // Fast path: nothing to resolve.
  if (path.indexOf('/.') < 0 && (!mergeSlashes || path.indexOf('//') < 0)) return { ok: true, path, escapedSlash };
  const parts = path.slice(1).split('/');
  const out: string[] = [];
  const last = parts.length - 1;
  for (let i = 0; i <= last; i++) {
    const seg = parts[i]!;
    if (seg === '.' || seg === '..') {
      if (seg === '..' && out.length > 0) {
        if (out[out.length - 1] === '') return reject('ambiguous_path', 'a ".." segment would remove an empty segment ("//..")');
        out.pop();
      }
      if (i === last) out.push('');
      continue;
    }
    if (seg.charCodeAt(0) === 46 /* . */ && (seg.startsWith('.;') || seg.startsWith('..;'))) {
      // Tomcat and Jetty read "..;x" as "..": the gateway would route one path and the upstream serve another.
      return reject('ambiguous_path', 'a path segment is a dot segment with parameters (";")');
    }
    out.push(seg);
  }
  let segments = out;
  if (mergeSlashes) {
    segments = [];
    for (let i = 0; i < out.length; i++) if (out[i] !== '' || i === out.length - 1) segments.push(out[i]!);
  }
  if (segments.length === 0) return { ok: true, path: '/', escapedSlash: false };
  const result = '/' + segments.join('/');
  // A kept %2F that a ".." removed is gone from what the upstream receives: only the final path counts.
  return { ok: true, path: result, escapedSlash: escapedSlash && (result.includes('%2F') || result.includes('%5C')) };
}

export interface RequestTarget {
  readonly ok: true;
  /** Authority from an absolute-form target (`GET http://host/path`), else null. */
  readonly authority: string | null;
  /** The path, not yet normalised. */
  readonly path: string;
  /** The query string with its `?`, or ''. Never normalised: it is the application's. */
  readonly query: string;
}

/** Splits an HTTP request target (origin-form, absolute-form or `*`) into authority, path and query. */
export function splitTarget(target: string): RequestTarget | Rejection {
  let authority: string | null = null;
  let rest = target;
  if (target.charCodeAt(0) !== 47 && target !== '*') {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(target);
    if (m === null) return reject('invalid_target', 'the request target is neither a path nor an absolute URI');
    const scheme = m[1]!.toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') return reject('invalid_target', `the request target has scheme "${scheme}"`);
    authority = m[2]!;
    rest = target.slice(m[0].length);
    if (rest === '' || rest.charCodeAt(0) === 63 /* ? */) rest = '/' + rest;
  }
  const q = rest.indexOf('?');
  return { ok: true, authority, path: q < 0 ? rest : rest.slice(0, q), query: q < 0 ? '' : rest.slice(q) };
}

export interface Authority {
  readonly ok: true;
  /** Lower case, no trailing dot, IPv6 in brackets; '' when the request named none. */
  readonly host: string;
  readonly port: number | null;
  /** host[:port]: what routing used and what the upstream receives as Host. */
  readonly authority: string;
}

const HOST_CHAR = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789-._') HOST_CHAR[c.charCodeAt(0)] = 1;

/** Canonicalises one Host / :authority value: lower case, one trailing dot removed, port split and checked. */
export function parseAuthority(raw: string): Authority | Rejection {
  if (raw === '') return { ok: true, host: '', port: null, authority: '' };
  let host: string;
  let portText = '';
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const end = raw.indexOf(']');
    if (end < 0) return reject('invalid_authority', 'unterminated IPv6 literal in the authority');
    host = raw.slice(0, end + 1).toLowerCase();
    if (!/^\[[0-9a-f:.]+\]$/.test(host)) return reject('invalid_authority', 'malformed IPv6 literal in the authority');
    const after = raw.slice(end + 1);
    if (after !== '') {
      if (after.charCodeAt(0) !== 58) return reject('invalid_authority', 'unexpected characters after the IPv6 literal');
      portText = after.slice(1);
    }
  } else {
    const colon = raw.indexOf(':');
    host = colon < 0 ? raw : raw.slice(0, colon);
    if (colon >= 0) portText = raw.slice(colon + 1);
    let lower = false;
    for (let i = 0; i < host.length; i++) {
      let c = host.charCodeAt(i);
      if (c >= 65 && c <= 90) {
        lower = true;
        c += 32;
      }
      if (c >= 128 || HOST_CHAR[c] !== 1) return reject('invalid_authority', 'the authority has a character a host name cannot have');
    }
    if (lower) host = host.toLowerCase();
    // "api.svc.plus." is the same name as "api.svc.plus" (a fully qualified DNS name): route it the same.
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (host === '' || host.charCodeAt(0) === 46 || host.endsWith('.') || host.includes('..')) {
      return reject('invalid_authority', 'the authority has an empty label');
    }
  }
  let port: number | null = null;
  if (portText !== '') {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) return reject('invalid_authority', 'the authority has an invalid port');
    port = Number(portText);
  }
  return { ok: true, host, port, authority: port === null ? host : `${host}:${port}` };
}

/**
 * The authority a request is routed by, from an h2 `:authority` or h1
 * absolute-form target (`fromTarget`) and every `Host` header value.
 * Two Host headers, or a target authority and a Host naming different hosts,
 * are refused (RFC 9112 §3.2, RFC 9113 §8.3.1): a proxy that picks one while the
 * upstream reads the other is how routes get bypassed.
 */
export function resolveAuthority(fromTarget: string | null, hosts: readonly string[]): Authority | Rejection {
  if (hosts.length > 1) return reject('duplicate_host', 'the request has more than one Host header');
  const hostHeader = hosts.length === 1 ? parseAuthority(hosts[0]!) : null;
  if (hostHeader !== null && !hostHeader.ok) return hostHeader;
  if (fromTarget === null) return hostHeader ?? parseAuthority('');
  const target = parseAuthority(fromTarget);
  if (!target.ok) return target;
  if (hostHeader !== null && hostHeader.host !== '' && (hostHeader.host !== target.host || (hostHeader.port !== null && target.port !== null && hostHeader.port !== target.port))) {
    return reject('authority_mismatch', `the request names host "${target.authority}" and Host "${hostHeader.authority}"`);
  }
  return target;
}

/** The listener-level request policy: how a request is canonicalised before routing. */
export interface RequestPolicy {
  readonly paths: PathPolicy;
  /** More header fields than this is 431 (nginx and Envoy both cap the count; node:http would silently truncate). */
  readonly maxHeaderCount: number;
}

export const DEFAULT_MAX_HEADER_COUNT = defaultsOf(Listener, ['maxHeaderCount']).maxHeaderCount;
export const DEFAULT_REQUEST_POLICY: RequestPolicy = Object.freeze({ paths: DEFAULT_PATH_POLICY, maxHeaderCount: DEFAULT_MAX_HEADER_COUNT });

/**
 * HTTP/2 header list size as RFC 9113 §6.5.2 counts it (name + value + 32 per
 * field). node:http2 does not refuse a request over its own
 * SETTINGS_MAX_HEADER_LIST_SIZE, so the proxy checks it.
 */
export function headerListSize(rawHeaders: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i++) n += rawHeaders[i]!.length;
  return n + 16 * rawHeaders.length;
}

export interface PreparedRequest {
  readonly ok: true;
  /** Canonical host (no port): the route table's key. */
  readonly host: string;
  /** Canonical host[:port]: the upstream Host and X-Forwarded-Host. */
  readonly authority: string;
  /** Normalised path: what routing and auth use and the upstream receives. */
  readonly path: string;
  /** path + query: the upstream request target. */
  readonly url: string;
  /** The path kept an encoded slash: the route's escapedSlashes policy decides after matching. */
  readonly escapedSlash: boolean;
}

export interface HeaderCountRejection {
  readonly ok: false;
  readonly status: 431;
  readonly reason: 'too_many_headers';
  readonly message: string;
}

/**
 * The one normalisation step before routing, for every protocol: request
 * target, authority (h2 `:authority` or h1 absolute-form, reconciled with Host)
 * and path. `pseudoAuthority` is h2's `:authority` (null for HTTP/1.x).
 */
export function prepareRequest(target: string, pseudoAuthority: string | null, rawHeaders: readonly string[], policy: RequestPolicy = DEFAULT_REQUEST_POLICY): PreparedRequest | Rejection | HeaderCountRejection {
  if (rawHeaders.length / 2 > policy.maxHeaderCount) {
    return { ok: false, status: 431, reason: 'too_many_headers', message: `more than ${policy.maxHeaderCount} header fields` };
  }
  const t = splitTarget(target);
  if (!t.ok) return t;
  const hosts: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const n = rawHeaders[i]!;
    if (n.length === 4 && n.toLowerCase() === 'host') hosts.push(rawHeaders[i + 1]!);
  }
  if (pseudoAuthority !== null && t.authority !== null) return reject('invalid_target', 'an h2 :path must not be an absolute URI');
  const auth = resolveAuthority(pseudoAuthority ?? t.authority, hosts);
  if (!auth.ok) return auth;
  // A listener that rejects encoded slashes still matches with them kept: a route may allow them (escapedSlashes: keep).
  const routing = policy.paths.escapedSlashes === 'reject' ? routingPolicyOf(policy.paths) : policy.paths;
  const p = normalizePath(t.path, routing);
  if (!p.ok) return p;
  return { ok: true, host: auth.host, authority: auth.authority, path: p.path, url: p.path + t.query, escapedSlash: p.escapedSlash };
}

const routingPolicies = new WeakMap<PathPolicy, PathPolicy>();
function routingPolicyOf(p: PathPolicy): PathPolicy {
  let r = routingPolicies.get(p);
  if (r === undefined) routingPolicies.set(p, (r = Object.freeze({ ...p, escapedSlashes: 'keep' as const })));
  return r;
}

/** After matching: whether the route (or, without its own setting, the listener) accepts a kept encoded slash. */
export function routeAcceptsEscapedSlash(prepared: PreparedRequest, routeAction: 'keep' | 'reject' | null, policy: RequestPolicy): boolean {
  return !prepared.escapedSlash || (routeAction ?? policy.paths.escapedSlashes) === 'keep';
}
