import { createPublicKey } from 'node:crypto';
import type { Config, RouteConfig } from '../../config/schema/index.ts';
import { ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS, type JwtAlgorithm } from '../../config/schema/jwt.ts';
import type { RawIssue } from '../../config/issue.ts';
import { RouteAuth } from '../../config/schema/routes.ts';
import { defaultsOf } from '../../config/schema/defaults.ts';

const AUTH = defaultsOf(RouteAuth, ['optional']);

type Path = (string | number)[];
type ProviderConfig = NonNullable<Config['jwt']>['providers'][number];
type ClaimValue = string | number | boolean;

/**
 * Header names a provider may never write upstream: hop-by-hop and framing
 * headers (request smuggling), and the ones that carry identity or routing.
 */
const RESERVED_HEADERS = new Set([
  'host', 'authorization', 'proxy-authorization', 'cookie', 'content-length', 'content-type', 'transfer-encoding', 'connection',
  'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
]);

/** RFC 7518 §3.2: the HMAC key must be at least as long as the hash output. */
const MIN_SECRET_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

export interface NormalizedProviderRef {
  provider: string;
  scopes: string[];
  claims: Record<string, ClaimValue | ClaimValue[]>;
  /** Config path of this reference, for error messages. */
  path: Path;
}

export interface NormalizedRouteAuth {
  mode: 'any' | 'all';
  optional: boolean;
  refs: NormalizedProviderRef[];
}

/**
 * Flattens every accepted spelling of a route's `auth` (name, list, anyOf, allOf)
 * into one shape. Route-level scopes and claims apply to every provider reference.
 */
export function normalizeRouteAuth(auth: NonNullable<RouteConfig['auth']>): NormalizedRouteAuth {
  const jwt = auth.jwt;
  let mode: 'any' | 'all' = 'any';
  let list: unknown[];
  let base: Path;
  if (typeof jwt === 'string') {
    list = [jwt];
    base = [];
  } else if (Array.isArray(jwt)) {
    list = jwt;
    base = [];
  } else if ('allOf' in jwt) {
    mode = 'all';
    list = jwt.allOf;
    base = ['allOf'];
  } else {
    list = jwt.anyOf;
    base = ['anyOf'];
  }
  const single = typeof jwt === 'string';
  const refs = list.map((item, i): NormalizedProviderRef => {
    const path: Path = ['jwt', ...base, ...(single ? [] : [i])];
    const own = typeof item === 'string' ? { provider: item } : (item as { provider: string; scopes?: string[]; claims?: Record<string, ClaimValue | ClaimValue[]> });
    if (typeof item !== 'string') path.push('provider');
    return {
      provider: own.provider,
      scopes: [...new Set([...(auth.scopes ?? []), ...(own.scopes ?? [])])],
      claims: { ...(auth.claims ?? {}), ...(own.claims ?? {}) },
      path,
    };
  });
  return { mode, optional: auth.optional ?? AUTH.optional, refs };
}

/**
 * The algorithms a provider accepts: the configured list, or by default every
 * asymmetric algorithm for public keys and the HS* ones the secret is long
 * enough for. Never `none`, never HS* for public keys (key confusion).
 */
export function providerAlgorithms(p: ProviderConfig): JwtAlgorithm[] {
  if (p.algorithms) return [...new Set(p.algorithms)];
  if (p.secret !== undefined) {
    const bytes = Buffer.byteLength(p.secret, 'utf8');
    return SYMMETRIC_ALGORITHMS.filter((a) => bytes >= MIN_SECRET_BYTES[a]!);
  }
  return [...ASYMMETRIC_ALGORITHMS];
}

/** The header names a provider writes upstream (lower-case). */
export function providerOutputHeaders(p: ProviderConfig): string[] {
  const out = (p.claimsToHeaders ?? []).map((c) => c.header.toLowerCase());
  if (p.payloadHeader) out.push(p.payloadHeader.toLowerCase());
  return out;
}

/** Checks of the `jwt` section and of every route's `auth` that JSON Schema can't express. */
export function checkJwtConfig(config: Config): RawIssue[] {
  const issues: RawIssue[] = [];
  const providers = new Map<string, ProviderConfig>();
  (config.jwt?.providers ?? []).forEach((p, i) => {
    if (!providers.has(p.name)) providers.set(p.name, p);
    checkProvider(p, ['jwt', 'providers', i], issues);
  });
  config.routes.forEach((r, i) => {
    if (r.auth) checkRouteAuth(r.auth, ['routes', i, 'auth'], providers, issues);
  });
  return issues;
}

export function checkProvider(p: ProviderConfig, base: Path, issues: RawIssue[]): void {
  const sources = [p.jwks ? 'jwks' : '', p.publicKey ? 'publicKey' : '', p.secret !== undefined ? 'secret' : ''].filter(Boolean);
  if (sources.length !== 1) {
    issues.push({ path: base, message: sources.length === 0 ? 'a JWT provider needs one of jwks, publicKey or secret' : `a JWT provider takes exactly one of jwks, publicKey, secret; got ${sources.join(' and ')}` });
  }
  if (p.jwks) {
    if ((p.jwks.file === undefined) === (p.jwks.url === undefined)) issues.push({ path: [...base, 'jwks'], message: 'jwks takes exactly one of file or url' });
    if (p.jwks.url !== undefined) {
      try {
        const u = new URL(p.jwks.url);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      } catch {
        issues.push({ path: [...base, 'jwks', 'url'], message: 'must be an http:// or https:// URL' });
      }
    }
    if (p.jwks.file !== undefined && (p.jwks.cooldown !== undefined || p.jwks.timeout !== undefined)) {
      issues.push({ path: [...base, 'jwks'], message: 'cooldown and timeout only apply to jwks.url' });
    }
  }
  if (p.publicKey) {
    if ((p.publicKey.pem === undefined) === (p.publicKey.file === undefined)) issues.push({ path: [...base, 'publicKey'], message: 'publicKey takes exactly one of pem or file' });
    if (p.publicKey.pem !== undefined) {
      try {
        const key = createPublicKey(p.publicKey.pem);
        if (key.type !== 'public') throw new Error('not a public key');
      } catch {
        issues.push({ path: [...base, 'publicKey', 'pem'], message: 'not a PEM public key (-----BEGIN PUBLIC KEY-----)' });
      }
    }
  }
  const symmetric = new Set<string>(SYMMETRIC_ALGORITHMS);
  if (p.secret !== undefined) {
    const bytes = Buffer.byteLength(p.secret, 'utf8');
    const asym = (p.algorithms ?? []).filter((a) => !symmetric.has(a));
    if (asym.length > 0) issues.push({ path: [...base, 'algorithms'], message: `a secret only verifies HS256/HS384/HS512, not ${asym.join(', ')}` });
    for (const a of p.algorithms ?? []) {
      const min = MIN_SECRET_BYTES[a];
      if (min !== undefined && bytes < min) issues.push({ path: [...base, 'secret'], message: `${a} needs a secret of at least ${min} bytes (RFC 7518 §3.2), got ${bytes}` });
    }
    if (!p.algorithms && bytes < 32) issues.push({ path: [...base, 'secret'], message: `an HMAC secret needs at least 32 bytes (RFC 7518 §3.2), got ${bytes}` });
  } else {
    const hs = (p.algorithms ?? []).filter((a) => symmetric.has(a));
    if (hs.length > 0) issues.push({ path: [...base, 'algorithms'], message: `${hs.join(', ')} only with a secret: a provider with public keys never accepts HMAC (key confusion)` });
  }
  const locations = p.from === undefined ? [] : Array.isArray(p.from) ? p.from : [p.from];
  const tokenHeaders = new Set<string>();
  locations.forEach((l, j) => {
    const path = Array.isArray(p.from) ? [...base, 'from', j] : [...base, 'from'];
    const kinds = [l.header !== undefined, l.cookie !== undefined, l.query !== undefined, l.protocol !== undefined].filter(Boolean).length;
    if (kinds !== 1) issues.push({ path, message: 'a token location takes exactly one of header, cookie, query, protocol' });
    if (l.prefix !== undefined && l.header === undefined) issues.push({ path: [...path, 'prefix'], message: 'prefix only applies to a header location' });
    if (l.header !== undefined) {
      const h = l.header.toLowerCase();
      tokenHeaders.add(h);
      if (h === 'host' || h === 'cookie' || h === 'content-length' || h === 'transfer-encoding' || h === 'connection') issues.push({ path: [...path, 'header'], message: `"${h}" cannot carry a token` });
    }
  });
  const seen = new Set<string>();
  const checkOut = (name: string, path: Path) => {
    const h = name.toLowerCase();
    if (RESERVED_HEADERS.has(h) || h.startsWith('proxy-')) issues.push({ path, message: `"${h}" is reserved and cannot carry claims` });
    else if (tokenHeaders.has(h)) issues.push({ path, message: `"${h}" is where this provider reads its token` });
    else if (seen.has(h)) issues.push({ path, message: `header "${h}" is written twice by this provider` });
    seen.add(h);
  };
  p.claimsToHeaders?.forEach((c, j) => checkOut(c.header, [...base, 'claimsToHeaders', j, 'header']));
  if (p.payloadHeader !== undefined) checkOut(p.payloadHeader, [...base, 'payloadHeader']);
}

function checkRouteAuth(auth: NonNullable<RouteConfig['auth']>, base: Path, providers: Map<string, ProviderConfig>, issues: RawIssue[]): void {
  const norm = normalizeRouteAuth(auth);
  const seen = new Set<string>();
  for (const ref of norm.refs) {
    if (!providers.has(ref.provider)) issues.push({ path: [...base, ...ref.path], message: `unknown JWT provider "${ref.provider}"` });
    else if (seen.has(ref.provider)) issues.push({ path: [...base, ...ref.path], message: `JWT provider "${ref.provider}" is listed twice` });
    seen.add(ref.provider);
  }
}
