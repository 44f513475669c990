import { EdgeplaneError } from '../util/errors.ts';

/** Options that the schema cannot reject (relations between values); raised once, at construction. */
export class HealthOptionsError extends EdgeplaneError {
  constructor(message: string) {
    super('EP_HEALTH_OPTIONS', message);
  }
}

export type CheckFailureCode =
  | 'EP_HC_TIMEOUT'
  | 'EP_HC_CONNECT'
  | 'EP_HC_PROTOCOL'
  | 'EP_HC_STATUS'
  | 'EP_HC_BODY'
  | 'EP_HC_ABORTED';

/** Why one active check failed. Returned as a value, never thrown past the checker. */
export class HealthCheckFailure extends EdgeplaneError {
  constructor(code: CheckFailureCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
