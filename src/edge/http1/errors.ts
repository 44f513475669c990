import { EdgeplaneError } from '../../util/errors.ts';

/**
 * A message the HTTP/1.1 codec refuses. `status` is what a server answers
 * (400, 413, 414, 431, 501, 505) before it closes the connection; `reason` is
 * the short label used in the JSON error body and the client-error metric.
 */
export class Http1ParseError extends EdgeplaneError {
  readonly status: number;
  readonly reason: string;
  constructor(reason: string, message: string, status = 400) {
    super(`EP_HTTP1_${reason.toUpperCase()}`, message);
    this.status = status;
    this.reason = reason;
  }
}

export function fail(reason: string, message: string, status = 400): never {
  throw new Http1ParseError(reason, message, status);
}
