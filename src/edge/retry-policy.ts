/**
 * The route's retry policy as pure decisions (the Exchange in src/edge/proxy.ts
 * applies them; the circuit breaker's retry unit is taken there).
 */
import type { RetryPolicy } from './compile.ts';
import type { ClusterLoad } from './cluster-load.ts';
import type { UpstreamFailure } from './upstream-errors.ts';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Whether the policy retries this failure at all (budget, breaker and attempts aside). */
export function retriesFailure(retry: RetryPolicy | null, failure: UpstreamFailure): boolean {
  if (retry === null || failure.fromClient) return false;
  switch (failure.outcome) {
    case 'connect-failure':
      return retry.connectFailure;
    case 'reset':
      return retry.reset;
    case 'timeout':
      // The route's whole-request timeout leaves no time for another attempt.
      return retry.timeout && !failure.wholeRequest;
    default:
      return false;
  }
}

/**
 * Whether the request can be sent again: an idempotent method without a body,
 * or a body kept whole for it (a gRPC call's replay copy). A consumed request
 * body can't be sent again; neither can a non-idempotent request.
 */
export function canResend(method: string, hasBody: boolean, bodyKept: boolean): boolean {
  return bodyKept || (!hasBody && IDEMPOTENT.has(method));
}

/** Envoy's retry budget: retries in flight stay within max(minimum concurrency, ratio x requests in flight). */
export function withinRetryBudget(retry: RetryPolicy, load: ClusterLoad): boolean {
  return load.activeRetries + 1 <= Math.max(retry.minConcurrency, retry.budgetRatio * load.active);
}
