import { EdgeplaneError } from '../../util/errors.ts';

/**
 * Every way a request's authentication can end, as the `result` label of
 * `edgeplane_jwt_total`. The failure kinds also pick the HTTP answer.
 */
export type JwtResult =
  | 'ok'
  | 'optional_missing'
  | 'missing'
  | 'too_large'
  | 'malformed'
  | 'alg_not_allowed'
  | 'unsupported_crit'
  | 'unknown_kid'
  | 'jwks_unavailable'
  | 'invalid_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claim'
  | 'invalid_claim'
  | 'too_old'
  | 'insufficient_scope'
  | 'claim_mismatch';

export type FailureKind = 'missing' | 'invalid' | 'forbidden';

/**
 * A token that was not accepted. `description` goes to the client in
 * WWW-Authenticate and the body, so it is built only from fixed text and
 * config values, never from the token or its claims.
 */
export class JwtVerifyError extends EdgeplaneError {
  readonly result: JwtResult;
  readonly kind: FailureKind;
  readonly description: string;
  /** For insufficient_scope: the scopes the route needs (RFC 6750 §3 `scope`). */
  readonly scope: string | undefined;

  constructor(result: Exclude<JwtResult, 'ok' | 'optional_missing'>, description: string, options: { scope?: string; cause?: unknown } = {}) {
    super(`EP_JWT_${result.toUpperCase()}`, description, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.result = result;
    this.kind = result === 'missing' ? 'missing' : result === 'insufficient_scope' || result === 'claim_mismatch' ? 'forbidden' : 'invalid';
    this.description = description;
    this.scope = options.scope;
  }
}

/** A JWKS that could not be fetched or used; never reaches a client, only logs and metrics. */
export class JwksError extends EdgeplaneError {
  /** The `result` label of `edgeplane_jwks_fetch_total`. */
  readonly result: 'http_error' | 'timeout' | 'network_error' | 'too_large' | 'invalid';
  constructor(result: JwksError['result'], message: string, options?: { cause?: unknown }) {
    super(`EP_JWKS_${result.toUpperCase()}`, message, options);
    this.result = result;
  }
}

/** Failure outcome as the proxy sends it (it adds content-type: application/json itself). */
export interface FailureOutcome {
  ok: false;
  status: 401 | 403;
  headers: Record<string, string>;
  body: string;
}

/** RFC 7230 quoted-string: escape backslash and double quote; drop anything that isn't printable ASCII. */
export function quote(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) continue;
    if (c === 0x22 || c === 0x5c) out += '\\';
    out += text[i];
  }
  return out + '"';
}

/**
 * Builds the RFC 6750 answer. Outcomes are immutable and cached by the caller,
 * since the set of (status, description) pairs is small and fixed by config.
 */
export function failureOutcome(realm: string, err: JwtVerifyError): FailureOutcome {
  let challenge = `Bearer realm=${quote(realm)}`;
  let body: Record<string, string>;
  if (err.kind === 'missing') {
    // RFC 6750 §3.1: a request without credentials gets no error code in the challenge.
    body = { error: 'unauthorized', error_description: err.description };
  } else {
    const code = err.kind === 'forbidden' ? 'insufficient_scope' : 'invalid_token';
    challenge += `, error=${quote(code)}, error_description=${quote(err.description)}`;
    if (err.scope) challenge += `, scope=${quote(err.scope)}`;
    body = { error: code, error_description: err.description };
  }
  return Object.freeze({
    ok: false as const,
    status: err.kind === 'forbidden' ? 403 : 401,
    headers: Object.freeze({ 'www-authenticate': challenge, 'cache-control': 'no-store' }) as Record<string, string>,
    body: JSON.stringify(body),
  });
}
