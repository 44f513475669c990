import type { GateReadings, GateThresholds } from './model.ts';

/** What was measured for the target over the window so far. */
export interface WindowMeasure {
  elapsedMs: number;
  requests: number;
  errors: number;
  p99Ms: number | null;
  ejections: number;
  localFailures: number;
  /** At least one endpoint of the target is healthy. */
  ready: boolean;
  healthy: number;
  total: number;
  readyDetail: string;
}

/**
 * The verdict on a window, Flagger-style: a failing gate fails the step at
 * once, mid-window included (a bad release should hurt as few requests as
 * possible); passing needs the whole window *and* enough requests.
 *
 * - ejections: more outlier ejections of the target's endpoints than allowed → fail
 *   (an ejection already took `consecutive5xx` failures to happen: no request minimum).
 * - readiness: the target has no healthy endpoint left → fail.
 * - below `minRequests` no rate is judged: pending mid-window, inconclusive at its end.
 * - error rate (5xx, including the gateway's own 502/503/504 for connect
 *   failures, resets and timeouts) above the maximum → fail.
 * - p99 latency above the maximum → fail.
 */
export function evaluateGates(m: WindowMeasure, t: GateThresholds, final: boolean, at: string): GateReadings {
  const errorRate = m.requests > 0 ? (100 * m.errors) / m.requests : null;
  const enough = m.requests >= t.minRequests;
  const gates: GateReadings['gates'] = [
    { gate: 'ejections', value: m.ejections, threshold: t.maxEjections, ok: m.ejections <= t.maxEjections },
    { gate: 'readiness', value: m.healthy, threshold: 1, ok: m.ready },
    { gate: 'minRequests', value: m.requests, threshold: t.minRequests, ok: enough },
    { gate: 'errorRate', value: errorRate === null ? null : round(errorRate), threshold: t.maxErrorRate, ok: enough && errorRate !== null ? errorRate <= t.maxErrorRate : null },
    { gate: 'p99Latency', value: m.p99Ms === null ? null : round(m.p99Ms), threshold: t.maxP99Ms, ok: enough && m.p99Ms !== null ? m.p99Ms <= t.maxP99Ms : null },
  ];
  let verdict: GateReadings['verdict'];
  let reason: string | null = null;
  if (m.ejections > t.maxEjections) {
    verdict = 'fail';
    reason = `ejections: ${m.ejections} outlier ejection(s) of the target's endpoints in the window, at most ${t.maxEjections} allowed`;
  } else if (!m.ready) {
    verdict = 'fail';
    reason = `readiness: the target has no healthy endpoint left (${m.readyDetail})`;
  } else if (!enough) {
    verdict = final ? 'inconclusive' : 'pending';
    if (final) reason = `inconclusive: ${m.requests} request(s) to the target in the window, at least ${t.minRequests} needed for a verdict`;
  } else if (errorRate! > t.maxErrorRate) {
    verdict = 'fail';
    reason = `error rate: ${round(errorRate!)}% (${m.errors} of ${m.requests} requests answered 5xx) is above ${t.maxErrorRate}%`;
  } else if (m.p99Ms !== null && m.p99Ms > t.maxP99Ms) {
    verdict = 'fail';
    reason = `p99 latency: ${round(m.p99Ms)}ms is above ${t.maxP99Ms}ms`;
  } else {
    verdict = final ? 'pass' : 'pending';
  }
  return {
    at,
    windowElapsedMs: m.elapsedMs,
    requests: m.requests,
    errors: m.errors,
    errorRate: errorRate === null ? null : round(errorRate),
    p99Ms: m.p99Ms === null ? null : round(m.p99Ms),
    ejections: m.ejections,
    localFailures: m.localFailures,
    ready: m.ready,
    healthy: m.healthy,
    total: m.total,
    verdict,
    gates,
    reason,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
