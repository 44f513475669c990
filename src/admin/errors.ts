import { EdgeplaneError } from '../util/errors.ts';
import { ControlError, type ControlErrorKind, type Issue } from '../control/errors.ts';

/** One problem with a request, in the shape every rejected admin write answers: `{errors:[{path,message}]}`. */
export type AdminIssue = Issue;

/**
 * Base class of the errors the admin API turns into HTTP answers. Each carries
 * its status and the issues to report, so the one error handler in server.ts
 * never has to guess.
 */
export class AdminHttpError extends EdgeplaneError {
  readonly statusCode: number;
  readonly issues: AdminIssue[];
  constructor(code: string, statusCode: number, issues: AdminIssue[], options?: { cause?: unknown }) {
    super(code, issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; '), options);
    this.statusCode = statusCode;
    this.issues = issues;
  }
}

/** 400: the write was refused before anything changed (validation, unknown name, no such version). */
export class AdminRejectedError extends AdminHttpError {
  constructor(issues: AdminIssue[], code = 'EP_ADMIN_REJECTED') {
    super(code, 400, issues);
  }
}

/** 400: the body is not JSON. */
export class MalformedBodyError extends AdminRejectedError {
  constructor(detail: string) {
    super([{ path: '', message: `malformed JSON body: ${detail}` }], 'EP_ADMIN_MALFORMED_JSON');
  }
}

/** 401: missing or wrong bearer token. The answer never says which, so it can't be used as an oracle. */
export class UnauthorizedError extends AdminHttpError {
  constructor() {
    super('EP_ADMIN_UNAUTHORIZED', 401, [{ path: 'headers.authorization', message: 'a valid bearer token is required' }]);
  }
}

/** 413: the body is larger than the admin listener accepts. */
export class BodyTooLargeError extends AdminHttpError {
  constructor(limit: number) {
    super('EP_ADMIN_BODY_TOO_LARGE', 413, [{ path: '', message: `request body larger than ${limit} bytes` }]);
  }
}

/** The HTTP status of each kind of control-plane refusal (src/control/errors.ts). */
export const STATUS_OF_KIND: Record<ControlErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  version_conflict: 412,
  conflict: 409,
  unavailable: 503,
  persist_failed: 500,
};

/** A control-plane error as the admin API answers it (same code and issues, the kind's status). */
export function httpErrorOf(err: ControlError): AdminHttpError {
  const out = new AdminHttpError(err.code, STATUS_OF_KIND[err.kind], err.issues, { cause: err });
  return out;
}
