import { AdminHttpError, type AdminIssue } from '../admin/errors.ts';

/**
 * The release errors the admin API answers. They extend AdminHttpError so the
 * admin server's one error handler turns them into `{errors:[{path,message}]}`
 * with the right status, like every other admin error.
 */

/** 400: the start request makes no sense (unknown route or cluster, bad steps, window shorter than the interval...); nothing was started. */
export class ReleaseRejectedError extends AdminHttpError {
  constructor(issues: AdminIssue[]) {
    super('EP_RELEASE_REJECTED', 400, issues);
  }
}

/** 409: the route already has a release in progress, or a change would move the split of a route that is being released. */
export class ReleaseConflictError extends AdminHttpError {
  readonly releaseId: string;
  constructor(releaseId: string, path: string, message: string) {
    super('EP_RELEASE_CONFLICT', 409, [{ path, message }]);
    this.releaseId = releaseId;
  }
}

/** 409: the action does not apply in the release's phase (promote a finished release, resume one that is not paused...). */
export class ReleaseStateError extends AdminHttpError {
  constructor(id: string, action: string, phase: string, why?: string) {
    super('EP_RELEASE_STATE', 409, [{ path: '', message: `cannot ${action} release ${id}: it is ${phase}${why ? ` (${why})` : ''}` }]);
  }
}

/** 404: no release with that id (neither running nor among the kept finished ones). */
export class ReleaseNotFoundError extends AdminHttpError {
  constructor(id: string) {
    super('EP_RELEASE_NOT_FOUND', 404, [{ path: 'id', message: `no release "${id}"` }]);
  }
}

/**
 * Thrown inside a config edit when the route's split is not one the release
 * wrote or started from: someone else changed it (a newer config file at
 * startup). The release then stops touching the split and pauses.
 */
export class ReleaseSplitDriftError extends Error {
  readonly code = 'EP_RELEASE_SPLIT_DRIFT';
}
