import type { Logger } from '../util/logger.ts';
import { deriveState, type TrackedEndpoint } from './endpoint-state.ts';
import * as m from './metrics.ts';

const STATES = ['healthy', 'unhealthy', 'ejected', 'draining'] as const;

/** Re-derives one endpoint's visible state; logs and updates metrics on a transition. */
export function refreshEndpoint(ep: TrackedEndpoint, cause: string, wallNow: number, logger: Logger): void {
  const { state, reason } = deriveState(ep);
  const before = ep.state;
  const isNew = cause === 'added';
  if (!isNew && state === before) {
    // Same state, maybe a more precise reason (e.g. a new failure detail).
    ep.reason = reason;
    return;
  }
  ep.state = state;
  ep.reason = reason;
  ep.sinceWall = wallNow;
  if (!ep.draining) m.endpointHealthy.labels(ep.cluster, ep.address).set(state === 'healthy' ? 1 : 0);
  for (const s of STATES) m.endpointState.labels(ep.cluster, ep.address, s).set(s === state ? 1 : 0);
  const log = { event: 'endpoint_state', cluster: ep.cluster, endpoint: ep.address, from: isNew ? null : before, to: state, reason };
  // A new endpoint awaiting its first check is the normal start, not a warning.
  if (state === 'healthy' || state === 'draining' || (isNew && ep.activeState === 'pending')) logger.info(log, 'endpoint state changed');
  else logger.warn(log, 'endpoint state changed');
}

/** Drops the endpoint's series (it left the cluster). */
export function forgetEndpointMetrics(ep: TrackedEndpoint): void {
  m.endpointHealthy.remove(ep.cluster, ep.address);
  for (const s of STATES) m.endpointState.remove(ep.cluster, ep.address, s);
}
