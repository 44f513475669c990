import type { UpstreamOutcome } from '../health/types.ts';

/** The whole-request timeout of a route fired. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'EP_UPSTREAM_TIMEOUT';
  constructor(ms: number) {
    super(`no complete response within ${ms}ms`);
  }
}

export interface UpstreamFailure {
  outcome: UpstreamOutcome;
  /** Status the client gets: 502 for connection trouble, 504 for timeouts. */
  status: 502 | 504;
  reason: string;
  message: string;
  /** The downstream client caused it (went away): never retried, never counted against the endpoint's health. */
  fromClient: boolean;
  /** The route's whole-request timeout: no time left to retry. */
  wholeRequest: boolean;
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);

/** Maps an undici/net error to how outlier detection counts it and what the client sees. */
export function classifyUpstreamError(err: Error): UpstreamFailure {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'EP_DOWNSTREAM_CLOSED' || code === 'UND_ERR_ABORTED') {
    return { outcome: 'reset', status: 502, reason: 'client_closed', message: 'the client closed the connection', fromClient: true, wholeRequest: false };
  }
  if (code === 'EP_UPSTREAM_TIMEOUT') {
    return { outcome: 'timeout', status: 504, reason: 'upstream_timeout', message: err.message, fromClient: false, wholeRequest: true };
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { outcome: 'connect-failure', status: 504, reason: 'upstream_connect_timeout', message: 'connecting to the upstream timed out', fromClient: false, wholeRequest: false };
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { outcome: 'timeout', status: 504, reason: 'upstream_timeout', message: code === 'UND_ERR_HEADERS_TIMEOUT' ? 'the upstream sent no response headers in time' : 'the upstream stopped sending the body', fromClient: false, wholeRequest: false };
  }
  if (CONNECT_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL')) {
    return { outcome: 'connect-failure', status: 502, reason: 'upstream_connect_failure', message: `could not connect to the upstream (${code})`, fromClient: false, wholeRequest: false };
  }
  if (RESET_CODES.has(code)) {
    return { outcome: 'reset', status: 502, reason: 'upstream_reset', message: 'the upstream closed the connection before a complete response', fromClient: false, wholeRequest: false };
  }
  return { outcome: 'reset', status: 502, reason: 'upstream_error', message: `upstream error (${code || err.name})`, fromClient: false, wholeRequest: false };
}
