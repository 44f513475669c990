import { Type } from '@sinclair/typebox';
import { Obj, Duration, Name } from './common.ts';

/** What a request is counted by; exactly one key. */
export const RateLimitKey = Type.Union([
  Obj({ clientAddress: Type.Literal(true, { description: 'the downstream peer address (the connection, not X-Forwarded-For)' }) }),
  Obj({ header: Type.String({ minLength: 1, pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', description: 'request header whose value is the key' }) }),
  Obj({ claim: Type.String({ minLength: 1, description: 'claim of the verified JWT (dotted path for nested claims); the route needs auth' }) }),
  Obj({ cookie: Type.String({ minLength: 1, description: 'cookie whose value is the key' }) }),
], { description: 'what requests are counted by: { clientAddress: true } | { header } | { claim } | { cookie }' });

/** One token bucket per key: `requests` per `per`, up to `burst` at once. */
export const RateLimitRule = Obj({
  name: Type.Optional(Name('identifies the limit\'s counters across config changes; default the key, e.g. "header:x-api-key"')),
  key: RateLimitKey,
  requests: Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'tokens added per period (the sustained rate)' }),
  per: Duration('the period `requests` refill over, e.g. 1s, 1m'),
  burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'bucket size: requests allowed at once after a quiet period; default `requests`' })),
  whenKeyMissing: Type.Optional(Type.Union([Type.Literal('client-address'), Type.Literal('shared'), Type.Literal('skip')], {
    default: 'client-address',
    description: 'a request without the key (no header, cookie or claim): counted by its client address, in one bucket shared by all such requests, or not limited',
  })),
  maxKeys: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100000, description: 'keys tracked at most (least recently used forgotten first)' })),
  responseHeaders: Type.Optional(Type.Boolean({ default: false, description: 'also send RateLimit-* headers on requests that pass (a 429 always has them)' })),
});

export const RouteRateLimit = Type.Array(RateLimitRule, { minItems: 1, maxItems: 8, description: 'token-bucket limits, all of which a request must pass (429 otherwise)' });
