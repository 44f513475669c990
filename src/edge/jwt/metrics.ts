import type { Counter } from 'prom-client';
import { counter, gauge } from '../../metrics/registry.ts';
import type { JwtResult } from './errors.ts';

export const jwtMetrics = {
  requests: counter('edgeplane_jwt_total', 'JWT authentication outcomes, by provider and result (ok, missing, expired, invalid_signature, wrong_audience, ...)', ['provider', 'result'] as const),
  cache: counter('edgeplane_jwt_cache_total', 'Verified-token cache lookups, by provider and result (hit, miss)', ['provider', 'result'] as const),
  jwksFetches: counter('edgeplane_jwks_fetch_total', 'JWKS fetches, by provider and result (ok, http_error, timeout, network_error, too_large, invalid)', ['provider', 'result'] as const),
  jwksKeys: gauge('edgeplane_jwks_keys', 'Signing keys currently loaded, by provider', ['provider'] as const),
  jwksStale: gauge('edgeplane_jwks_stale', '1 while a provider serves a key set older than its cacheTtl because refreshes fail', ['provider'] as const),
};

type Child = ReturnType<Counter<'provider' | 'result'>['labels']>;

/**
 * Per-provider bound counters: `labels()` hashes its arguments on every call,
 * which the cache-hit path should not pay for.
 */
export class ProviderCounters {
  readonly #provider: string;
  readonly #results = new Map<JwtResult, Child>();
  readonly cacheHit: Child;
  readonly cacheMiss: Child;

  constructor(provider: string) {
    this.#provider = provider;
    this.cacheHit = jwtMetrics.cache.labels(provider, 'hit');
    this.cacheMiss = jwtMetrics.cache.labels(provider, 'miss');
  }

  result(result: JwtResult): Child {
    let c = this.#results.get(result);
    if (!c) {
      c = jwtMetrics.requests.labels(this.#provider, result);
      this.#results.set(result, c);
    }
    return c;
  }
}
