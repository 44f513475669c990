import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Dispatcher } from 'undici';
import type { JwtConfig } from '../../config/schema/index.ts';
import { providerAlgorithms, providerOutputHeaders } from './config-check.ts';
import type { Clock } from '../../util/clock.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Logger } from '../../util/logger.ts';
import { claimHeaderValue, compileClaimPath, readClaim, tokenScopes, type ClaimPath } from './claims.ts';
import { decodeToken, type DecodedToken } from './decode.ts';
import { JwtProvider } from '../../config/schema/jwt.ts';
import { defaultsOf } from '../../config/schema/defaults.ts';
import { JwtVerifyError } from './errors.ts';
import { compileLocations, type TokenLocation } from './extract.ts';
import { KeySet, keyFromPem, keyFromSecret, parseJwks, type VerifyKey } from './keys.ts';
import { RemoteKeySource, StaticKeySource, type KeySource } from './key-source.ts';
import { ProviderCounters } from './metrics.ts';
import { TokenCache, type VerifiedToken } from './token-cache.ts';

type ProviderConfig = JwtConfig['providers'][number];

/** Declared on the schema fields (src/config/schema/jwt.ts). */
const PROVIDER = defaultsOf(JwtProvider, ['clockSkew', 'maxTokenSize', 'forward']);
const JWKS = defaultsOf(JwtProvider.properties.jwks, ['cacheTtl', 'cooldown', 'timeout']);
/** The JWKS fetch timeout when a provider sets none (also the shared JWKS agent's connect timeout). */
export const DEFAULT_JWKS_TIMEOUT_MS = parseDuration(JWKS.timeout);
/** A token without exp is cached for at most this long, so the cache never pins one forever. */
export const MAX_CACHE_TTL_WITHOUT_EXP_MS = 5 * 60_000;

export interface ProviderDeps {
  baseDir: string;
  clock: Clock;
  logger: Logger;
  cache: TokenCache | undefined;
  dispatcher: Dispatcher | undefined;
}

/** What `verify` ends with: never thrown, so the request path has no try/catch around awaits. */
export type VerifyResult = VerifiedToken | JwtVerifyError;

/**
 * One configured issuer: where its token is, which keys and algorithms verify
 * it, which claims it must carry and what is forwarded. Built once per
 * config; `verify` is the only per-request entry point.
 */
export class Provider {
  readonly name: string;
  readonly index: number;
  readonly locations: readonly TokenLocation[];
  readonly forward: boolean;
  /** Headers this provider writes upstream (lower-case); always removed from the client's request first. */
  readonly outputHeaders: readonly string[];
  readonly counters: ProviderCounters;
  readonly #issuer: string;
  readonly #algorithms: ReadonlySet<string>;
  readonly #verifyOptions: Omit<JWTVerifyOptions, 'algorithms' | 'currentDate'>;
  readonly #maxAgeMs: number | undefined;
  readonly #maxTokenSize: number;
  readonly #claimsToHeaders: readonly { path: ClaimPath; header: string }[];
  readonly #payloadHeader: string | undefined;
  readonly #source: KeySource;
  readonly #deps: ProviderDeps;

  /** Throws Error with a message naming the problem (the caller adds the config path). */
  constructor(config: ProviderConfig, index: number, deps: ProviderDeps) {
    this.name = config.name;
    this.index = index;
    this.#deps = deps;
    this.#issuer = config.issuer;
    const algorithms = providerAlgorithms(config);
    this.#algorithms = new Set(algorithms);
    const skewMs = parseDuration(config.clockSkew ?? PROVIDER.clockSkew);
    this.#maxAgeMs = config.maxAge !== undefined ? parseDuration(config.maxAge) : undefined;
    this.#verifyOptions = {
      issuer: config.issuer,
      ...(config.audiences && config.audiences.length > 0 ? { audience: config.audiences } : {}),
      clockTolerance: Math.floor(skewMs / 1000),
      ...(this.#maxAgeMs !== undefined ? { maxTokenAge: Math.floor(this.#maxAgeMs / 1000) } : {}),
      ...(config.requiredClaims ? { requiredClaims: config.requiredClaims } : {}),
    };
    this.#maxTokenSize = config.maxTokenSize ?? PROVIDER.maxTokenSize;
    this.locations = compileLocations(config.from);
    this.forward = config.forward ?? PROVIDER.forward;
    this.outputHeaders = providerOutputHeaders(config);
    this.#claimsToHeaders = (config.claimsToHeaders ?? []).map((c) => ({ path: compileClaimPath(c.claim), header: c.header.toLowerCase() }));
    this.#payloadHeader = config.payloadHeader?.toLowerCase();
    this.counters = new ProviderCounters(config.name);
    this.#source = buildSource(config, algorithms, deps);
  }

  start(): Promise<void> {
    return this.#source.start();
  }

  whenIdle(): Promise<void> {
    return this.#source.whenIdle();
  }

  close(): void {
    this.#source.close();
    this.counters.close();
  }

  /**
   * Verifies a token: synchronous on a cache hit and for anything rejected
   * before signature work (size, structure, algorithm, issuer), a Promise otherwise.
   */
  verify(token: string): VerifyResult | Promise<VerifyResult> {
    // Before hashing or parsing: a huge token costs nothing more than this comparison.
    if (token.length > this.#maxTokenSize) return new JwtVerifyError('too_large', 'token too large');
    if (token === '') return new JwtVerifyError('malformed', 'empty token');
    const cache = this.#deps.cache;
    let cacheKey: string | undefined;
    if (cache !== undefined) {
      const hit = cache.lookup(this.index, token, this.#deps.clock.wallNow());
      if (typeof hit !== 'string') {
        this.counters.hit();
        return hit;
      }
      cacheKey = hit;
      this.counters.miss();
    }
    let decoded: DecodedToken;
    try {
      decoded = decodeToken(token, this.#maxTokenSize);
    } catch (err) {
      if (err instanceof JwtVerifyError) return err;
      throw err;
    }
    if (!this.#algorithms.has(decoded.alg)) return new JwtVerifyError('alg_not_allowed', 'token algorithm not allowed');
    // Checked before any key lookup, so a foreign token never triggers a JWKS refetch.
    if (decoded.payload.iss !== this.#issuer) return new JwtVerifyError('wrong_issuer', 'issuer not accepted');
    const keys = this.#source.resolve(decoded.alg, decoded.kid);
    if (Array.isArray(keys)) return this.#verifyWith(token, decoded, keys, cacheKey);
    return keys.then((k) => this.#verifyWith(token, decoded, k, cacheKey));
  }

  async #verifyWith(token: string, decoded: DecodedToken, keys: VerifyKey[], cacheKey: string | undefined): Promise<VerifyResult> {
    if (keys.length === 0) {
      if (!this.#source.loaded) return new JwtVerifyError('jwks_unavailable', 'signing keys unavailable');
      return new JwtVerifyError('unknown_kid', decoded.kid !== undefined ? 'signing key not found' : 'no signing key fits the token');
    }
    let last: JwtVerifyError | undefined;
    for (const key of keys) {
      let payload: JWTPayload;
      try {
        const options: JWTVerifyOptions = { ...this.#verifyOptions, algorithms: [decoded.alg], currentDate: new Date(this.#deps.clock.wallNow()) };
        // A Uint8Array secret and a KeyObject go through different jwtVerify overloads.
        ({ payload } = key.key instanceof Uint8Array ? await jwtVerify(token, key.key, options) : await jwtVerify(token, key.key, options));
      } catch (err) {
        last = mapJoseError(err);
        // Without a kid several keys may fit: a bad signature means "try the next one".
        if (last.result === 'invalid_signature') continue;
        return last;
      }
      const verified = this.#build(payload as Record<string, unknown>, decoded, key);
      if (cacheKey !== undefined) this.#deps.cache!.set(cacheKey, verified, this.#deps.clock.wallNow());
      return verified;
    }
    return last!;
  }

  #build(payload: Record<string, unknown>, decoded: DecodedToken, key: VerifyKey): VerifiedToken {
    const now = this.#deps.clock.wallNow();
    let expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : now + MAX_CACHE_TTL_WITHOUT_EXP_MS;
    if (this.#maxAgeMs !== undefined && typeof payload.iat === 'number') expiresAt = Math.min(expiresAt, payload.iat * 1000 + this.#maxAgeMs);
    const setHeaders: [string, string][] = [];
    for (const c of this.#claimsToHeaders) {
      const value = claimHeaderValue(readClaim(payload, c.path));
      if (value !== undefined) setHeaders.push([c.header, value]);
    }
    // The payload exactly as the issuer signed it: base64url JSON, as Envoy's forward_payload_header.
    if (this.#payloadHeader !== undefined) setHeaders.push([this.#payloadHeader, decoded.payloadSegment]);
    return Object.freeze({ payload: Object.freeze(payload), key, expiresAt, setHeaders: Object.freeze(setHeaders) as [string, string][], scopes: tokenScopes(payload) });
  }
}

function buildSource(config: ProviderConfig, algorithms: string[], deps: ProviderDeps): KeySource {
  if (config.secret !== undefined) return new StaticKeySource(new KeySet([keyFromSecret(config.secret)], true));
  if (config.publicKey) {
    const pem = config.publicKey.pem ?? readText(config.publicKey.file!, deps.baseDir, 'publicKey.file');
    return new StaticKeySource(new KeySet([keyFromPem(pem, algorithms)], true));
  }
  const jwks = config.jwks;
  if (!jwks) throw new Error('a JWT provider needs one of jwks, publicKey or secret');
  if (jwks.file !== undefined) {
    const text = readText(jwks.file, deps.baseDir, 'jwks.file');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new Error(`jwks.file ${jwks.file} is not JSON`);
    }
    const { set, skipped } = parseJwks(doc, algorithms);
    if (skipped.length > 0) deps.logger.warn({ provider: config.name, skipped }, 'JWKS keys skipped');
    return new StaticKeySource(set);
  }
  return new RemoteKeySource({
    provider: config.name,
    url: jwks.url!,
    algorithms,
    cacheTtlMs: parseDuration(jwks.cacheTtl ?? JWKS.cacheTtl),
    cooldownMs: parseDuration(jwks.cooldown ?? JWKS.cooldown),
    timeoutMs: parseDuration(jwks.timeout ?? JWKS.timeout),
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
  });
}

function readText(file: string, baseDir: string, what: string): string {
  try {
    return readFileSync(resolvePath(baseDir, file), 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** jose's error codes -> result labels and client-safe descriptions (jose's own messages are never sent). */
export function mapJoseError(err: unknown): JwtVerifyError {
  const e = err as { code?: string; claim?: string; reason?: string; message?: string };
  switch (e?.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new JwtVerifyError('invalid_signature', 'signature verification failed');
    case 'ERR_JWT_EXPIRED':
      return e.claim === 'iat' ? new JwtVerifyError('too_old', 'token too old') : new JwtVerifyError('expired', 'token expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = typeof e.claim === 'string' ? e.claim : 'claim';
      if (e.reason === 'invalid') return new JwtVerifyError('invalid_claim', `claim ${claim} has the wrong type`);
      if (claim === 'aud') return new JwtVerifyError('wrong_audience', 'audience not accepted');
      if (e.reason === 'missing') return new JwtVerifyError('missing_claim', `required claim ${claim} missing`);
      if (claim === 'iss') return new JwtVerifyError('wrong_issuer', 'issuer not accepted');
      if (claim === 'nbf' || claim === 'iat') return new JwtVerifyError('not_yet_valid', 'token not yet valid');
      return new JwtVerifyError('invalid_claim', `claim ${claim} not accepted`);
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new JwtVerifyError('alg_not_allowed', 'token algorithm not allowed');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      if (typeof e.message === 'string' && e.message.includes('Extension Header Parameter')) return new JwtVerifyError('unsupported_crit', 'token has a critical header extension that is not supported');
      return new JwtVerifyError('malformed', 'malformed token');
    default:
      // A key jose refuses for this alg (TypeError) counts as "this key did not verify it".
      if (err instanceof TypeError) return new JwtVerifyError('invalid_signature', 'signature verification failed', { cause: err });
      return new JwtVerifyError('malformed', 'malformed token', { cause: err });
  }
}
