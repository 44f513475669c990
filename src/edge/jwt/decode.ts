import { JwtVerifyError } from './errors.ts';

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A token split and parsed but NOT verified: only used to pick the provider's key and fail fast. */
export interface DecodedToken {
  alg: string;
  kid: string | undefined;
  payload: Record<string, unknown>;
  /** The payload segment exactly as signed (base64url JSON), forwarded by `payloadHeader`. */
  payloadSegment: string;
}

/**
 * Structural checks that run before any key lookup or signature work, so that
 * junk costs little and never triggers a JWKS refetch. jose repeats the JWS
 * checks during verification; this pass exists for early, precise answers.
 */
export function decodeToken(token: string, maxSize: number): DecodedToken {
  // The length check comes first: nothing below may touch a multi-megabyte string.
  if (token.length > maxSize) throw new JwtVerifyError('too_large', 'token too large');
  const d1 = token.indexOf('.');
  const d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
  if (d2 < 0 || token.indexOf('.', d2 + 1) >= 0) throw new JwtVerifyError('malformed', 'token is not a compact JWS (three dot-separated parts)');
  const h = token.slice(0, d1);
  const p = token.slice(d1 + 1, d2);
  const s = token.slice(d2 + 1);
  const header = parseSegment(h, 'header');
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') throw new JwtVerifyError('malformed', 'token header has no alg');
  // Unsigned tokens are refused whatever the provider's allow-list says.
  if (alg.toLowerCase() === 'none') throw new JwtVerifyError('alg_not_allowed', 'token algorithm not allowed');
  if (s === '' || !BASE64URL.test(s)) throw new JwtVerifyError('malformed', 'token signature is not base64url');
  // No JWS extension is understood, so any `crit` makes the token unacceptable (RFC 7515 §4.1.11).
  if (header.crit !== undefined) throw new JwtVerifyError('unsupported_crit', 'token has a critical header extension that is not supported');
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== 'string') throw new JwtVerifyError('malformed', 'token kid is not a string');
  // jku, x5u, x5c and jwk are never read: keys only ever come from the provider's configuration.
  const payload = parseSegment(p, 'payload');
  return { alg, kid, payload, payloadSegment: p };
}

function parseSegment(segment: string, what: 'header' | 'payload'): Record<string, unknown> {
  // Buffer's base64url decoder skips invalid characters silently, so validate first.
  if (segment === '' || !BASE64URL.test(segment) || segment.length % 4 === 1) {
    throw new JwtVerifyError('malformed', `token ${what} is not base64url`);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new JwtVerifyError('malformed', `token ${what} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new JwtVerifyError('malformed', `token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
