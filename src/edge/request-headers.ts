/**
 * The one function that turns a client's request headers into the headers the
 * upstream receives, for normal requests and Upgrade (WebSocket) requests alike.
 * Pure: flat [name, value, ...] arrays in and out, no node:http objects.
 *
 * - hop-by-hop headers and every name the client lists in `Connection` are dropped;
 * - headers the gateway owns (X-Forwarded-*, Forwarded, X-Real-IP, X-Request-Id,
 *   Host) are replaced, or appended to for X-Forwarded-For and Forwarded;
 * - headers the route or the authenticator protects (claim headers such as
 *   X-JWT-Sub) are dropped in every spelling an upstream may fold together
 *   (`X-JWT-Sub`, `x_jwt_sub`);
 * - names with `_` are dropped, kept or refused per the listener policy, since
 *   CGI/WSGI/PHP upstreams read `a_b` and `a-b` as one header.
 */
import { HOP_BY_HOP, nameLengths, mayBeIn } from './http-util.ts';

export type UnderscoreAction = 'allow' | 'drop' | 'reject';

/** Headers the gateway sets itself: a client's copy is never forwarded as is. */
export const GATEWAY_OWNED = new Set(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip', 'forwarded', 'x-request-id']);

export interface ForwardContext {
  /** The canonical authority routing used (or the route's host rewrite): the upstream's Host. */
  readonly host: string;
  /** The canonical authority the client asked for (X-Forwarded-Host, Forwarded host=). */
  readonly forwardedHost: string;
  readonly clientIp: string;
  readonly scheme: 'http' | 'https';
  readonly requestId: string;
}

export interface HeaderPolicy {
  /** Lower-case names to drop (route `requestHeaders.remove`, claim headers); matched with `_` read as `-`. */
  readonly remove: ReadonlySet<string> | null;
  /** A second set (the authenticator's per-request removals); same matching. */
  readonly removeAlso?: ReadonlySet<string> | null;
  readonly underscores: UnderscoreAction;
}

export interface HeaderRejection {
  readonly ok: false;
  readonly status: 400;
  readonly reason: 'underscore_in_header_name';
  readonly message: string;
}

/** Most names (Accept, User-Agent, Content-Type...) have a length no special name has: they skip toLowerCase(). */
const SPECIAL_LENGTHS = nameLengths(GATEWAY_OWNED, HOP_BY_HOP);
const removeLengths = new WeakMap<ReadonlySet<string>, Uint8Array>();
function lengthsOf(set: ReadonlySet<string>): Uint8Array {
  let l = removeLengths.get(set);
  if (l === undefined) removeLengths.set(set, (l = nameLengths(set)));
  return l;
}

/** Header names a `Connection` option may never remove: the gateway needs them to frame and route the request. */
const NOT_REMOVABLE_BY_CONNECTION = new Set(['content-length', 'content-type', 'host']);

/**
 * Builds the upstream request headers. Returns the flat array, or a rejection
 * when the listener refuses names with underscores.
 */
export function upstreamRequestHeaders(raw: readonly string[], policy: HeaderPolicy, ctx: ForwardContext): string[] | HeaderRejection {
  const out: string[] = [];
  let xff: string | undefined;
  let forwarded: string | undefined;
  let listed: Set<string> | null = null;
  const remove = policy.remove !== null && policy.remove.size > 0 ? policy.remove : null;
  const removeAlso = policy.removeAlso != null && policy.removeAlso.size > 0 ? policy.removeAlso : null;
  const removeLens = remove !== null ? lengthsOf(remove) : null;
  const removeAlsoLens = removeAlso !== null ? lengthsOf(removeAlso) : null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* ':' */) continue; // HTTP/2 pseudo-headers
    if (
      !mayBeIn(SPECIAL_LENGTHS, name) &&
      (removeLens === null || !mayBeIn(removeLens, name)) &&
      (removeAlsoLens === null || !mayBeIn(removeAlsoLens, name)) &&
      name.indexOf('_') < 0
    ) {
      out.push(name, raw[i + 1]!);
      continue;
    }
    let lower = name.toLowerCase();
    if (lower.indexOf('_') >= 0) {
      if (policy.underscores === 'reject') return { ok: false, status: 400, reason: 'underscore_in_header_name', message: `header "${name}" has an underscore in its name` };
      if (policy.underscores === 'drop') continue;
      lower = lower.replaceAll('_', '-');
      // Even when allowed, an underscore spelling of a header the gateway owns or protects never passes.
      if (GATEWAY_OWNED.has(lower) || HOP_BY_HOP.has(lower)) continue;
    }
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') listed = connectionOptions(raw[i + 1]!, listed);
      continue;
    }
    if (GATEWAY_OWNED.has(lower)) {
      if (lower === 'x-forwarded-for') xff = xff === undefined ? raw[i + 1] : `${xff}, ${raw[i + 1]}`;
      else if (lower === 'forwarded') forwarded = forwarded === undefined ? raw[i + 1] : `${forwarded}, ${raw[i + 1]}`;
      continue;
    }
    if ((remove !== null && remove.has(lower)) || (removeAlso !== null && removeAlso.has(lower))) continue;
    out.push(name, raw[i + 1]!);
  }
  if (listed !== null) {
    for (let i = out.length - 2; i >= 0; i -= 2) {
      if (listed.has(out[i]!.toLowerCase())) out.splice(i, 2);
    }
    // A client listing X-Forwarded-For or Forwarded in Connection loses its own chain, not the gateway's element.
    if (listed.has('x-forwarded-for')) xff = undefined;
    if (listed.has('forwarded')) forwarded = undefined;
  }
  const ip = ctx.clientIp;
  const element = `for=${forwardedNode(ip)};proto=${ctx.scheme}${ctx.forwardedHost === '' ? '' : `;host=${forwardedValue(ctx.forwardedHost)}`}`;
  if (ctx.host !== '') out.push('host', ctx.host);
  out.push(
    'x-forwarded-for', xff === undefined ? ip : `${xff}, ${ip}`,
    'x-forwarded-proto', ctx.scheme,
    'x-forwarded-host', ctx.forwardedHost,
    'x-real-ip', ip,
    'forwarded', forwarded === undefined ? element : `${forwarded}, ${element}`,
    'x-request-id', ctx.requestId,
  );
  return out;
}

/** Names listed in a Connection header (RFC 9110 §7.6.1), lower case, minus the ones the gateway needs. */
export function connectionOptions(value: string, into: Set<string> | null): Set<string> | null {
  // The usual values name no header: no split, no allocation.
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return into;
  }
  let set = into;
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive' || NOT_REMOVABLE_BY_CONNECTION.has(t)) continue;
    (set ??= new Set<string>()).add(t);
  }
  return set;
}

/** Every value of one header in a flat raw header array (names compared case-insensitively). */
export function headerValues(raw: readonly string[], lowerName: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === lowerName.length && n.toLowerCase() === lowerName) values.push(raw[i + 1]!);
  }
  return values;
}

/** RFC 7239 §6: IPv6 addresses are bracketed and quoted; IPv4 is a plain token. */
function forwardedNode(ip: string): string {
  if (ip === '') return 'unknown';
  const v4 = ip.startsWith('::ffff:') && ip.indexOf('.') > 0 ? ip.slice(7) : ip;
  return v4.indexOf(':') >= 0 ? `"[${v4}]"` : v4;
}

/** A Forwarded parameter value: a token, or a quoted string when it has characters a token cannot. */
function forwardedValue(v: string): string {
  // A canonical authority has only [a-z0-9.-_] plus ":" and "[]" (port, IPv6): quoted exactly when it has those.
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 58 || c === 91 || c === 93 || c === 34 || c === 92 || c === 32) return `"${v.replace(/["\\]/g, '\\$&')}"`;
  }
  return v;
}
