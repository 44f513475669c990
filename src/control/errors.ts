import { EdgeplaneError } from '../util/errors.ts';

/** One problem with a change, in the shape every refused admin write answers: `{errors:[{path,message}]}`. */
export interface Issue {
  path: string;
  message: string;
}

/**
 * What kind of refusal a control-plane error is. The admin API maps each kind
 * to an HTTP status (src/admin/errors.ts); the control plane itself knows
 * nothing of HTTP.
 */
export type ControlErrorKind =
  /** The change makes no sense or does not validate; nothing changed. */
  | 'invalid'
  /** Something named does not exist (a release id). */
  | 'not_found'
  /** The write was based on a version that is no longer current (If-Match, or another node wrote first). */
  | 'version_conflict'
  /** The change conflicts with the state of something else (a release in progress, a release phase). */
  | 'conflict'
  /** The shared store can't be reached, or the outcome of a write is unknown; nothing was changed (or the watch will tell). */
  | 'unavailable'
  /** The change could not be made durable on this node; nothing changed. */
  | 'persist_failed';

/** Base class of every refusal the control plane reports: a kind, a stable code and the issues. */
export class ControlError extends EdgeplaneError {
  readonly kind: ControlErrorKind;
  readonly issues: Issue[];
  constructor(kind: ControlErrorKind, code: string, issues: Issue[], options?: { cause?: unknown }) {
    super(code, issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; '), options);
    this.kind = kind;
    this.issues = issues;
  }
}

/** The change was refused before anything changed (validation, unknown name, a config that can't be applied). */
export class InvalidChangeError extends ControlError {
  constructor(issues: Issue[], code = 'EP_CONFIG_REJECTED') {
    super('invalid', code, issues);
  }
}

/** Rollback to a version the history does not hold. */
export class VersionNotFoundError extends InvalidChangeError {
  constructor(version: number, kept: readonly number[]) {
    const range = kept.length ? `kept: ${Math.min(...kept)}..${Math.max(...kept)}` : 'the history is empty';
    super([{ path: 'version', message: `version ${version} is not in the history (${range})` }], 'EP_CONFIG_NO_SUCH_VERSION');
  }
}

/**
 * The write was based on a version that is no longer current: If-Match named
 * an older version, or (with the etcd store) another node wrote in between.
 * Nothing changed; read again and retry.
 */
export class VersionConflictError extends ControlError {
  readonly current: number;
  constructor(expected: string, current: number, how: 'if-match' | 'concurrent' = 'if-match') {
    const issue =
      how === 'if-match'
        ? { path: 'headers.if-match', message: `the config is at version ${current}, not ${expected}: read it again and retry` }
        : { path: '', message: `another change made version ${current} while this one was based on version ${expected}; nothing was changed: read the config again and retry` };
    // If-Match names a stale version: 412 Precondition Failed; a race lost to another node: 409.
    super(how === 'if-match' ? 'version_conflict' : 'conflict', 'EP_CONFIG_VERSION_CONFLICT', [issue]);
    this.current = current;
  }
}

/**
 * The shared config store can't be reached (or refused us), so nothing was
 * changed. With `outcomeUnknown` the write may have been stored: the reply
 * says so, and the watch settles it (GET /v1/status shows the version served).
 */
export class StoreUnavailableError extends ControlError {
  readonly outcomeUnknown: boolean;
  constructor(detail: string, outcomeUnknown = false) {
    const message = outcomeUnknown
      ? `the config store did not confirm the write and could not be read back (${detail}): the outcome is unknown; GET /v1/status and /v1/versions show whether it was stored`
      : `the config store is unreachable (${detail}): nothing was changed; the gateway keeps serving its last good config`;
    super('unavailable', outcomeUnknown ? 'EP_STORE_OUTCOME_UNKNOWN' : 'EP_STORE_UNAVAILABLE', [{ path: '', message }]);
    this.outcomeUnknown = outcomeUnknown;
  }
}

/**
 * A release driver's write carried the revision of the leader key it held,
 * and that key is gone or newer: another node leads now, so the write was
 * refused and nothing changed.
 */
export class FencedError extends ControlError {
  constructor(detail: string) {
    super('conflict', 'EP_STORE_FENCED', [{ path: '', message: `refused: this node no longer holds release leadership (${detail})` }]);
  }
}

/** The change could not be made durable. The running config was put back first, so nothing changed. */
export class PersistError extends ControlError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('persist_failed', 'EP_CONFIG_PERSIST_FAILED', [{ path: '', message: `cannot persist the change: ${detail}; nothing was changed` }], options);
  }
}

/**
 * A change would move the split of a route that a release controls (or start
 * a second release of it). Raised by the release module's route lock; defined
 * here so the store and the admin API know the kind without importing release.
 */
export class ReleaseLockedError extends ControlError {
  readonly releaseId: string;
  constructor(releaseId: string, path: string, message: string, code = 'EP_RELEASE_CONFLICT') {
    super('conflict', code, [{ path, message }]);
    this.releaseId = releaseId;
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
