import { ControlError, ReleaseLockedError, type Issue } from '../control/errors.ts';

/**
 * The release errors. They are control-plane errors (src/control/errors.ts):
 * the admin API maps their kind to the HTTP status, like every other refusal.
 */

/** The start request makes no sense (unknown route or cluster, bad steps, window shorter than the interval...); nothing was started. */
export class ReleaseRejectedError extends ControlError {
  constructor(issues: Issue[]) {
    super('invalid', 'EP_RELEASE_REJECTED', issues);
  }
}

/** The route already has a release in progress, or a change would move the split of a route that is being released. */
export class ReleaseConflictError extends ReleaseLockedError {}

/** The action does not apply in the release's phase (promote a finished release, resume one that is not paused...). */
export class ReleaseStateError extends ControlError {
  constructor(id: string, action: string, phase: string, why?: string) {
    super('conflict', 'EP_RELEASE_STATE', [{ path: '', message: `cannot ${action} release ${id}: it is ${phase}${why ? ` (${why})` : ''}` }]);
  }
}

/** No release with that id (neither running nor among the kept finished ones). */
export class ReleaseNotFoundError extends ControlError {
  constructor(id: string) {
    super('not_found', 'EP_RELEASE_NOT_FOUND', [{ path: 'id', message: `no release "${id}"` }]);
  }
}

/** This node no longer leads the fleet's releases (its leader key is gone or newer): it stops acting. */
export class NotLeaderError extends ControlError {
  constructor(detail: string) {
    super('unavailable', 'EP_RELEASE_NOT_LEADER', [{ path: '', message: `this node no longer drives releases: ${detail}` }]);
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
