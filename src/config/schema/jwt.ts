import { Type } from '@sinclair/typebox';
import { Obj, Name, Duration } from './common.ts';

/** HTTP field-name characters (RFC 9110 token), so a configured header name can never smuggle anything. */
export const HEADER_NAME_PATTERN = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";

/**
 * The JWS algorithms a provider may allow. `none` is deliberately absent: an
 * unsigned token is never accepted, whatever the config says.
 */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const SYMMETRIC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const JWT_ALGORITHMS = [...ASYMMETRIC_ALGORITHMS, ...SYMMETRIC_ALGORITHMS] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const HeaderName = (description?: string) => Type.String({ pattern: HEADER_NAME_PATTERN, maxLength: 128, ...(description ? { description } : {}) });

/** Where a provider (or a route's WebSocket upgrades) looks for a token: exactly one of header, cookie, query, protocol. */
export const JwtTokenLocation = Obj({
  header: Type.Optional(HeaderName('request header carrying the token')),
  prefix: Type.Optional(Type.String({ maxLength: 64, description: 'value prefix before the token, matched case-insensitively; default "Bearer " for authorization, none otherwise' })),
  cookie: Type.Optional(Type.String({ maxLength: 128, pattern: HEADER_NAME_PATTERN, description: 'cookie carrying the token' })),
  query: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'query parameter carrying the token; removed from the URL before forwarding unless forward is true' })),
  protocol: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: HEADER_NAME_PATTERN, description: 'WebSocket upgrades: the Sec-WebSocket-Protocol entry starting with this prefix carries the token (e.g. "bearer."); that entry is removed before forwarding unless forward is true' })),
});

export const JwtProvider = Obj({
  name: Name(),
  issuer: Type.String({ minLength: 1, description: 'exact value the token\'s iss claim must have' }),
  audiences: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'the token\'s aud must contain one of these; absent = aud not checked' })),
  jwks: Type.Optional(Obj({
    file: Type.Optional(Type.String({ minLength: 1, description: 'JWKS file, relative to the config file' })),
    url: Type.Optional(Type.String({ pattern: '^https?://', description: 'JWKS endpoint (http or https)' })),
    cacheTtl: Type.Optional(Duration('how long a fetched key set is fresh; refreshed in the background before that', '10m')),
    cooldown: Type.Optional(Duration('minimum time between refetches triggered by an unknown kid', '30s')),
    timeout: Type.Optional(Duration('JWKS fetch timeout', '5s')),
  })),
  publicKey: Type.Optional(Obj({
    pem: Type.Optional(Type.String({ minLength: 1, description: 'SPKI PEM text (-----BEGIN PUBLIC KEY-----)' })),
    file: Type.Optional(Type.String({ minLength: 1, description: 'SPKI PEM file, relative to the config file' })),
  })),
  secret: Type.Optional(Type.String({ minLength: 1, description: 'HMAC secret (UTF-8 bytes) for HS256/HS384/HS512; at least as long as the hash output' })),
  algorithms: Type.Optional(Type.Array(Type.Union(JWT_ALGORITHMS.map((a) => Type.Literal(a))), {
    minItems: 1,
    description: 'allowed JWS algorithms; default every asymmetric one for jwks/publicKey, HS256/HS384/HS512 for secret; none is never allowed',
  })),
  clockSkew: Type.Optional(Duration('tolerance for exp, nbf and iat', '60s')),
  requiredClaims: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'claims that must be present' })),
  maxAge: Type.Optional(Duration('maximum age of the token by its iat claim (which then becomes required)')),
  from: Type.Optional(Type.Union([JwtTokenLocation, Type.Array(JwtTokenLocation, { minItems: 1 })], {
    description: 'token location(s), tried in order; default Authorization: Bearer',
  })),
  forward: Type.Optional(Type.Boolean({ default: false, description: 'forward the token upstream (by default it is removed)' })),
  payloadHeader: Type.Optional(HeaderName('send the verified payload (base64url JSON) upstream in this header')),
  claimsToHeaders: Type.Optional(Type.Array(Obj({ claim: Type.String({ minLength: 1 }), header: HeaderName() }))),
  maxTokenSize: Type.Optional(Type.Integer({ minimum: 256, maximum: 65536, default: 8192, description: 'tokens longer than this many bytes are rejected before parsing' })),
});

export const Jwt = Obj({
  providers: Type.Array(JwtProvider),
  realm: Type.Optional(Type.String({ pattern: '^[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*$', maxLength: 128, default: 'edgeplane', description: 'realm in WWW-Authenticate' })),
  cache: Type.Optional(Obj({
    enabled: Type.Optional(Type.Boolean({ default: true, description: 'cache verified tokens' })),
    maxEntries: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, default: 10000, description: 'verified tokens kept' })),
  })),
});
