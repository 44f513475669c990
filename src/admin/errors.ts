import { EdgeplaneError } from '../util/errors.ts';

/** One problem with a request, in the shape every rejected admin write answers: `{errors:[{path,message}]}`. */
export interface AdminIssue {
  path: string;
  message: string;
}

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

/** 400: rollback to a version the history does not hold. */
export class VersionNotFoundError extends AdminRejectedError {
  constructor(version: number, kept: readonly number[]) {
    const range = kept.length ? `kept: ${Math.min(...kept)}..${Math.max(...kept)}` : 'the history is empty';
    super([{ path: 'version', message: `version ${version} is not in the history (${range})` }], 'EP_ADMIN_NO_SUCH_VERSION');
  }
}

/** 401: missing or wrong bearer token. The answer never says which, so it can't be used as an oracle. */
export class UnauthorizedError extends AdminHttpError {
  constructor() {
    super('EP_ADMIN_UNAUTHORIZED', 401, [{ path: 'headers.authorization', message: 'a valid bearer token is required' }]);
  }
}

/** 412: If-Match named a version that is no longer current (someone else wrote in between). */
export class VersionConflictError extends AdminHttpError {
  constructor(expected: string, current: number) {
    super('EP_ADMIN_VERSION_CONFLICT', 412, [{ path: 'headers.if-match', message: `the config is at version ${current}, not ${expected}: read it again and retry` }]);
  }
}

/** 413: the body is larger than the admin listener accepts. */
export class BodyTooLargeError extends AdminHttpError {
  constructor(limit: number) {
    super('EP_ADMIN_BODY_TOO_LARGE', 413, [{ path: '', message: `request body larger than ${limit} bytes` }]);
  }
}

/**
 * 500: the change could not be made durable. The running config was put back
 * to the previous version before this is thrown, so nothing changed.
 */
export class PersistError extends AdminHttpError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('EP_ADMIN_PERSIST_FAILED', 500, [{ path: '', message: `cannot persist the change: ${detail}; nothing was changed` }], options);
  }
}

/** The persisted state file exists but can't be read as state (hand-edited, wrong format). */
export class StateCorruptError extends EdgeplaneError {
  constructor(file: string, detail: string) {
    super('EP_STATE_CORRUPT', `${file}: ${detail}`);
  }
}

/** The state directory can't be created or written (permissions, read-only file system). */
export class StateDirError extends EdgeplaneError {
  constructor(dir: string, detail: string) {
    super('EP_STATE_DIR', `admin.stateDir ${dir}: ${detail}`);
  }
}
