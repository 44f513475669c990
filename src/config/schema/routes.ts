import { Type } from '@sinclair/typebox';
import { Obj, Name, Duration, Percent } from './common.ts';
import { HttpMethod } from './http-methods.ts';
import { RouteRateLimit } from './rate-limit.ts';
import { JwtTokenLocation } from './jwt.ts';

export const PathMatch = Type.Union([
  Obj({ prefix: Type.String({ pattern: '^/', description: 'path prefix, on segment boundaries are not required' }) }),
  Obj({ exact: Type.String({ pattern: '^/' }) }),
  Obj({ regex: Type.String({ minLength: 1, description: 'JavaScript regular expression matched against the whole path' }) }),
]);

export const HeaderMatch = Obj({
  name: Type.String({ minLength: 1 }),
  exact: Type.Optional(Type.String()),
  prefix: Type.Optional(Type.String()),
  regex: Type.Optional(Type.String()),
  present: Type.Optional(Type.Boolean({ default: true, description: 'without exact, prefix or regex: true matches when the header is there, false when it is absent' })),
  invert: Type.Optional(Type.Boolean({ default: false, description: 'match when the header test does not' })),
});

export const RouteMatch = Obj({
  hosts: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'exact host or *.suffix wildcard; absent = any host' })),
  path: Type.Optional(PathMatch),
  methods: Type.Optional(Type.Array(HttpMethod, { description: 'any of these request methods; absent = any method' })),
  headers: Type.Optional(Type.Array(HeaderMatch)),
});

export const SplitEntry = Obj({
  cluster: Name(),
  weight: Type.Integer({ minimum: 0, maximum: 1000000, description: 'relative, not a percentage: the cluster gets weight / (sum of the split\'s weights) of the requests, so 90/10 and 9/1 split alike' }),
});

/** A claim's required value, or a list of acceptable values; an array claim matches when any element does. */
export const ClaimMatchValue = Type.Union([
  Type.String(), Type.Number(), Type.Boolean(),
  Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { minItems: 1 }),
]);
const Scopes = (description: string) => Type.Array(Type.String({ minLength: 1, pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' }), { description });
const ClaimMatches = Type.Record(Type.String({ minLength: 1 }), ClaimMatchValue, { description: 'claim (dotted path for nested claims) -> required value(s)' });

/** One provider in a requirement, by name or with its own scopes and claim matches. */
export const AuthProviderRef = Type.Union([
  Type.String({ minLength: 1 }),
  Obj({
    provider: Type.String({ minLength: 1 }),
    scopes: Type.Optional(Scopes('scopes this provider\'s token must all carry (scope / scp claims)')),
    claims: Type.Optional(ClaimMatches),
  }),
]);

export const RouteAuth = Obj({
  jwt: Type.Union([
    Type.String(),
    Type.Array(AuthProviderRef, { minItems: 1 }),
    Obj({ anyOf: Type.Array(AuthProviderRef, { minItems: 1 }) }),
    Obj({ allOf: Type.Array(AuthProviderRef, { minItems: 1 }) }),
  ], { description: 'provider name; a list of acceptable providers (any of); { anyOf: [...] } or { allOf: [...] } (a valid token for each)' }),
  optional: Type.Optional(Type.Boolean({ default: false, description: 'let requests without any token through; a token that is present must still be valid' })),
  scopes: Type.Optional(Scopes('scopes every accepted token must all carry (scope / scp claims); 403 insufficient_scope otherwise')),
  claims: Type.Optional(ClaimMatches),
});

export const RetryPolicy = Obj({
  attempts: Type.Integer({ minimum: 0, maximum: 10, description: 'retries after the first try' }),
  on: Type.Optional(Type.Array(Type.String({ pattern: '^(connect-failure|reset|timeout|gateway-error|5xx|[1-5][0-9][0-9]|cancelled|deadline-exceeded|internal|resource-exhausted|unavailable)$' }), { default: ['connect-failure', 'reset'] })),
  budgetPercent: Type.Optional(Percent('retries in flight as a share of active requests', 20)),
  minRetryConcurrency: Type.Optional(Type.Integer({ minimum: 0, default: 3, description: 'retries always allowed regardless of the budget' })),
  perTryTimeout: Type.Optional(Duration()),
});

export const HeaderOps = Obj({
  set: Type.Optional(Type.Record(Type.String(), Type.String())),
  remove: Type.Optional(Type.Array(Type.String())),
});

export const Route = Obj({
  name: Name(),
  match: RouteMatch,
  split: Type.Array(SplitEntry, { minItems: 1 }),
  sticky: Type.Optional(Obj({
    cookie: Type.Optional(Type.String({ minLength: 1 })),
    header: Type.Optional(Type.String({ minLength: 1 })),
    cookieMaxAge: Type.Optional(Duration('lifetime of the sticky cookie', '1d')),
  })),
  override: Type.Optional(Obj({ header: Type.String({ minLength: 1 }) })),
  auth: Type.Optional(RouteAuth),
  retries: Type.Optional(RetryPolicy),
  timeout: Type.Optional(Duration('whole request', '15s')),
  connectTimeout: Type.Optional(Duration()),
  firstByteTimeout: Type.Optional(Duration('time to response headers, default the route timeout')),
  idleTimeout: Type.Optional(Duration('between body chunks', '60s')),
  rewrite: Type.Optional(Obj({
    host: Type.Optional(Type.String()),
    prefix: Type.Optional(Type.String({ pattern: '^/', description: 'replaces the matched path prefix' })),
  })),
  requestHeaders: Type.Optional(HeaderOps),
  responseHeaders: Type.Optional(HeaderOps),
  rateLimit: Type.Optional(RouteRateLimit),
  webSocket: Type.Optional(Obj({
    tokenFrom: Type.Optional(Type.Array(JwtTokenLocation, {
      minItems: 1,
      description: 'where an upgrade (WebSocket) request on this auth route carries its token, tried in order, instead of each provider\'s own `from`: e.g. [{header: authorization}, {query: access_token}, {protocol: "bearer."}]',
    })),
    idleTimeout: Type.Optional(Duration('close an upgraded connection after this long without a byte in either direction; "0s" never', '1h')),
  }, { description: 'HTTP/1.1 Upgrade (WebSocket) requests on this route' })),
  escapedSlashes: Type.Optional(Type.Union([Type.Literal('keep'), Type.Literal('reject')], {
    description: 'a path with %2F or %5C matched this route (as data, not a separator): keep forwards it, reject answers 400; default the listener\'s paths.escapedSlashes (unescape on the listener decodes before routing)',
  })),
});
