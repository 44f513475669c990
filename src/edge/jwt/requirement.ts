import { claimMatches, compileClaimMatches, type ClaimMatch } from './claims.ts';
import { JwtVerifyError } from './errors.ts';
import { findToken, type HeaderInput, type TokenLocation } from './extract.ts';
import type { Provider, VerifyResult } from './provider.ts';
import type { VerifiedToken } from './token-cache.ts';

/** One provider within a route's requirement, with the route's scope and claim needs. */
export interface RequirementEntry {
  readonly provider: Provider;
  readonly scopes: readonly string[];
  readonly claims: readonly ClaimMatch[];
  /** The 403 for a token lacking scopes or claims, built once. */
  readonly forbidden: JwtVerifyError | undefined;
  readonly scopeForbidden: JwtVerifyError | undefined;
  /**
   * removeHeaders when this entry's token came from location i: the route's
   * anti-spoofing list plus the token's own header unless it is forwarded.
   */
  readonly removeFor: ReadonlyMap<TokenLocation, string[]>;
  /** The route's anti-spoofing list, for locations a route sets itself (WebSocket `tokenFrom`). */
  readonly antiSpoof: readonly string[];
  /** The result when the request carries no token for this provider (shared, immutable). */
  readonly absent: EntryResult;
}

/** The same for every route: RFC 6750 §3.1 sends no error details for a request without credentials. */
export const MISSING = new JwtVerifyError('missing', 'a bearer token is required');

/**
 * A route's `auth`, compiled once per snapshot: which providers, combined how,
 * what each token must carry, and which client headers are always dropped.
 */
export class AuthRequirement {
  /** The authenticator that compiled it: its providers, caches and realm answer for it. */
  readonly owner: object;
  readonly mode: 'any' | 'all' | 'none';
  readonly optional: boolean;
  readonly entries: readonly RequirementEntry[];
  /** Every header any provider of this route writes: a client can never send these upstream itself. */
  readonly antiSpoof: readonly string[];

  constructor(owner: object, mode: AuthRequirement['mode'], optional: boolean, entries: RequirementEntry[], antiSpoof: string[]) {
    this.owner = owner;
    this.mode = mode;
    this.optional = optional;
    this.entries = entries;
    this.antiSpoof = antiSpoof;
  }
}

export function buildEntry(provider: Provider, scopes: string[], claims: Record<string, string | number | boolean | (string | number | boolean)[]>, antiSpoof: string[]): RequirementEntry {
  const removeFor = new Map<TokenLocation, string[]>();
  for (const loc of provider.locations) removeFor.set(loc, removalsFor(provider, loc, antiSpoof));
  const compiled = compileClaimMatches(claims);
  return {
    provider,
    scopes,
    claims: compiled,
    scopeForbidden: scopes.length > 0 ? new JwtVerifyError('insufficient_scope', 'token lacks a required scope', { scope: scopes.join(' ') }) : undefined,
    forbidden: compiled.length > 0 ? new JwtVerifyError('claim_mismatch', 'token claims do not satisfy this route', scopes.length > 0 ? { scope: scopes.join(' ') } : {}) : undefined,
    removeFor,
    antiSpoof,
    absent: Object.freeze({ ok: false as const, error: MISSING, absent: true }),
  };
}

/** Headers dropped upstream when a token came from `loc`: the anti-spoofing list, plus the token's own header unless it is forwarded. */
export function removalsFor(provider: Provider, loc: TokenLocation, antiSpoof: readonly string[]): string[] {
  const list = [...antiSpoof];
  if (!provider.forward && loc.kind === 'header' && !list.includes(loc.name)) list.push(loc.name);
  if (!provider.forward && loc.kind === 'cookie') list.push('cookie');
  return Object.freeze(list) as string[];
}

/** One entry's result for one request. */
export type EntryResult =
  | { ok: true; token: VerifiedToken; location: TokenLocation; entry: RequirementEntry }
  | { ok: false; error: JwtVerifyError; absent: boolean };

/** Finds the entry's token (in `from` when the route names its own locations) and verifies it; sync unless verification has to do signature work. */
export function checkEntry(entry: RequirementEntry, headers: HeaderInput, url: string, from?: readonly TokenLocation[]): EntryResult | Promise<EntryResult> {
  const found = findToken(from ?? entry.provider.locations, headers, url);
  if (found === undefined) return entry.absent;
  const r = entry.provider.verify(found.token);
  if (r instanceof Promise) return r.then((v) => settle(entry, v, found.location));
  return settle(entry, r, found.location);
}

function settle(entry: RequirementEntry, v: VerifyResult, location: TokenLocation): EntryResult {
  if (v instanceof JwtVerifyError) return { ok: false, error: v, absent: false };
  if (entry.scopeForbidden !== undefined) {
    for (const s of entry.scopes) if (!v.scopes.has(s)) return { ok: false, error: entry.scopeForbidden, absent: false };
  }
  if (entry.forbidden !== undefined) {
    for (const m of entry.claims) if (!claimMatches(v.payload as Record<string, unknown>, m)) return { ok: false, error: entry.forbidden, absent: false };
  }
  return { ok: true, token: v, location, entry };
}
