import { EdgeplaneError } from '../util/errors.ts';
import type { WireError } from './messages.ts';

/** A worker could not apply a snapshot (bind failure, compile error): the config change is refused everywhere. */
export class WorkerApplyError extends EdgeplaneError {
  readonly issues: NonNullable<WireError['issues']> | undefined;
  readonly worker: number;
  constructor(worker: number, error: WireError) {
    // The worker's own message, as the single-process gateway would have thrown it.
    super(error.code ?? 'EP_WORKER_APPLY', error.message);
    this.issues = error.issues;
    this.worker = worker;
  }
}

/** A worker did not answer in time (apply acknowledgement, start-up). */
export class WorkerTimeoutError extends EdgeplaneError {
  constructor(what: string, ms: number) {
    super('EP_WORKER_TIMEOUT', `${what}: no answer within ${ms}ms`);
  }
}

/** Workers could not be started at all (the first snapshot failed in a worker, or workers kept dying). */
export class WorkerStartError extends EdgeplaneError {
  constructor(message: string) {
    super('EP_WORKER_START', message);
  }
}
