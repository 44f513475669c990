import { AdminHttpError, type AdminIssue } from '../admin/errors.ts';

/** 400: the deploy request makes no sense, or its image cannot be had; nothing was started and no weight moved. */
export class DeployRejectedError extends AdminHttpError {
  constructor(issues: AdminIssue[]) {
    super('EP_DEPLOY_REJECTED', 400, issues);
  }
}

/** 409: the unit already has a deploy in progress, or the action does not apply in the deploy's phase. */
export class DeployConflictError extends AdminHttpError {
  constructor(message: string) {
    super('EP_DEPLOY_CONFLICT', 409, [{ path: '', message }]);
  }
}

/** 503: the unit's container daemon does not answer; nothing was started. */
export class DeployRuntimeUnavailableError extends AdminHttpError {
  constructor(message: string) {
    super('EP_DEPLOY_RUNTIME_UNAVAILABLE', 503, [{ path: 'unit', message }]);
  }
}

/** 404: no deploy with that id. */
export class DeployNotFoundError extends AdminHttpError {
  constructor(id: string) {
    super('EP_DEPLOY_NOT_FOUND', 404, [{ path: 'id', message: `no deploy "${id}"` }]);
  }
}
