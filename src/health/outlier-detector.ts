import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { UpstreamOutcome } from './types.ts';
import type { OutlierOptions } from './options.ts';
import type { TrackedEndpoint } from './endpoint-state.ts';
import { decayedMultiplier, ejectionAllowed, ejectionDuration, enforced, nextMultiplier } from './ejection-policy.ts';
import { failurePercentageOutliers, successRateOutliers, type VolumeSample } from './outlier-stats.ts';

export type EjectionReason =
  | 'consecutive-5xx'
  | 'consecutive-gateway-failure'
  | 'consecutive-local-origin-failure'
  | 'success-rate'
  | 'local-origin-success-rate'
  | 'failure-percentage'
  | 'local-origin-failure-percentage';

export interface OutlierDetectorDeps {
  clock: Clock;
  rng: Rng;
  /** The cluster's current endpoints (not draining). */
  hosts(): readonly TrackedEndpoint[];
  onEject(ep: TrackedEndpoint, reason: EjectionReason, durationMs: number): void;
  onUneject(ep: TrackedEndpoint, reason: string): void;
  /** A detection that max ejection percent or enforcement did not let through. */
  onNotEjected?(ep: TrackedEndpoint, reason: EjectionReason, why: 'overflow' | 'not-enforced'): void;
}

/**
 * Passive outlier detection for one cluster, with Envoy's semantics.
 *
 * `record()` is on the request path: it only bumps integer fields on the
 * endpoint. When a consecutive counter reaches its threshold it queues the
 * endpoint for a check on a zero-delay timer, so ejection happens as promptly
 * as in Envoy (which also ejects inline for consecutive errors) but out of the
 * request's call stack. Success-rate and failure-percentage tests, decay of the
 * ejection multiplier and retries of ejections refused by maxEjectionPercent
 * run on the `interval` timer.
 */
export class OutlierDetector {
  #o: OutlierOptions;
  readonly #d: OutlierDetectorDeps;
  #intervalTimer: TimerHandle | undefined;
  #flushTimer: TimerHandle | undefined;
  #queued: { ep: TrackedEndpoint; reason: EjectionReason }[] = [];
  #unejectTimers = new Map<TrackedEndpoint, TimerHandle>();
  #stopped = true;

  constructor(options: OutlierOptions, deps: OutlierDetectorDeps) {
    this.#o = options;
    this.#d = deps;
  }

  get options(): OutlierOptions {
    return this.#o;
  }

  /** New options apply from the next interval; current ejections keep their end time. */
  setOptions(options: OutlierOptions): void {
    const intervalChanged = options.intervalMs !== this.#o.intervalMs;
    this.#o = options;
    if (intervalChanged && !this.#stopped) {
      this.#d.clock.clearTimeout(this.#intervalTimer);
      this.#scheduleInterval();
    }
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#scheduleInterval();
  }

  stop(): void {
    this.#stopped = true;
    this.#d.clock.clearTimeout(this.#intervalTimer);
    this.#d.clock.clearTimeout(this.#flushTimer);
    this.#intervalTimer = undefined;
    this.#flushTimer = undefined;
    this.#queued = [];
    for (const t of this.#unejectTimers.values()) this.#d.clock.clearTimeout(t);
    this.#unejectTimers.clear();
  }

  /** Counts one upstream attempt. Hot path: integer fields and compares only. */
  record(ep: TrackedEndpoint, outcome: UpstreamOutcome): void {
    const o = this.#o;
    switch (outcome) {
      case 'success':
        ep.consecutive5xx = 0;
        ep.consecutiveGatewayFailure = 0;
        ep.externalOk++;
        if (o.splitExternalLocalOriginErrors) {
          ep.consecutiveLocalOriginFailure = 0;
          ep.localOk++;
        }
        return;
      case 'http-5xx':
        ep.consecutiveGatewayFailure = 0;
        ep.externalFail++;
        if (o.splitExternalLocalOriginErrors) {
          // The upstream answered: as far as the connection goes, a success.
          ep.consecutiveLocalOriginFailure = 0;
          ep.localOk++;
        }
        if (++ep.consecutive5xx === o.consecutive5xx) this.#queue(ep, 'consecutive-5xx');
        return;
      case 'gateway-error':
        ep.externalFail++;
        if (o.splitExternalLocalOriginErrors) {
          ep.consecutiveLocalOriginFailure = 0;
          ep.localOk++;
        }
        if (++ep.consecutiveGatewayFailure === o.consecutiveGatewayFailure) this.#queue(ep, 'consecutive-gateway-failure');
        if (++ep.consecutive5xx === o.consecutive5xx) this.#queue(ep, 'consecutive-5xx');
        return;
      default:
        // connect-failure, reset, timeout: local origin.
        if (o.splitExternalLocalOriginErrors) {
          ep.localFail++;
          if (++ep.consecutiveLocalOriginFailure === o.consecutiveLocalOriginFailure) this.#queue(ep, 'consecutive-local-origin-failure');
          return;
        }
        // Not split: Envoy maps them to 503/504, i.e. a gateway failure and a 5xx.
        ep.externalFail++;
        if (++ep.consecutiveGatewayFailure === o.consecutiveGatewayFailure) this.#queue(ep, 'consecutive-gateway-failure');
        if (++ep.consecutive5xx === o.consecutive5xx) this.#queue(ep, 'consecutive-5xx');
        return;
    }
  }

  /** Ends an ejection early (a passing active check, when so configured). */
  uneject(ep: TrackedEndpoint, reason: string): void {
    if (!ep.ejection) return;
    this.#d.clock.clearTimeout(this.#unejectTimers.get(ep));
    this.#unejectTimers.delete(ep);
    this.#doUneject(ep, reason);
  }

  /** Forget an endpoint that left the cluster. */
  forget(ep: TrackedEndpoint): void {
    this.#d.clock.clearTimeout(this.#unejectTimers.get(ep));
    this.#unejectTimers.delete(ep);
  }

  /** Runs one interval sweep now (tests and the interval timer). */
  sweep(): void {
    const now = this.#d.clock.now();
    const o = this.#o;
    const hosts = this.#d.hosts();

    // Decay before new ejections, so a host ejected in this sweep keeps its multiplier.
    for (const ep of hosts) ep.ejectionMultiplier = decayedMultiplier(ep.ejectionMultiplier, ep.ejection !== null, ep.lastUnejectedAt, now, o.intervalMs);

    const candidates: { ep: TrackedEndpoint; reason: EjectionReason; enforcing: number }[] = [];
    const external: VolumeSample[] = hosts.map((h) => ({ ok: h.externalOk, fail: h.externalFail }));
    const sr = successRateOutliers(external, { minimumHosts: o.successRateMinimumHosts, requestVolume: o.successRateRequestVolume, stdevFactor: o.successRateStdevFactor / 1000 });
    for (const i of sr.outliers) candidates.push({ ep: hosts[i]!, reason: 'success-rate', enforcing: o.enforcingSuccessRate });
    const fpOptions = { minimumHosts: o.failurePercentageMinimumHosts, requestVolume: o.failurePercentageRequestVolume, threshold: o.failurePercentageThreshold };
    for (const i of failurePercentageOutliers(external, hosts.length, fpOptions)) {
      candidates.push({ ep: hosts[i]!, reason: 'failure-percentage', enforcing: o.enforcingFailurePercentage });
    }
    if (o.splitExternalLocalOriginErrors) {
      const local: VolumeSample[] = hosts.map((h) => ({ ok: h.localOk, fail: h.localFail }));
      const lsr = successRateOutliers(local, { minimumHosts: o.successRateMinimumHosts, requestVolume: o.successRateRequestVolume, stdevFactor: o.successRateStdevFactor / 1000 });
      for (const i of lsr.outliers) candidates.push({ ep: hosts[i]!, reason: 'local-origin-success-rate', enforcing: o.enforcingLocalOriginSuccessRate });
      for (const i of failurePercentageOutliers(local, hosts.length, fpOptions)) {
        candidates.push({ ep: hosts[i]!, reason: 'local-origin-failure-percentage', enforcing: o.enforcingFailurePercentageLocalOrigin });
      }
    }
    // Consecutive-error detections that maxEjectionPercent refused earlier get
    // another chance each interval (Envoy only tries at the moment the counter
    // hits the threshold, so such a host could stay in rotation indefinitely).
    for (const ep of hosts) {
      if (ep.ejection) continue;
      if (o.consecutive5xx > 0 && ep.consecutive5xx >= o.consecutive5xx) candidates.push({ ep, reason: 'consecutive-5xx', enforcing: o.enforcingConsecutive5xx });
      if (o.consecutiveGatewayFailure > 0 && ep.consecutiveGatewayFailure >= o.consecutiveGatewayFailure) {
        candidates.push({ ep, reason: 'consecutive-gateway-failure', enforcing: o.enforcingConsecutiveGatewayFailure });
      }
      if (o.splitExternalLocalOriginErrors && o.consecutiveLocalOriginFailure > 0 && ep.consecutiveLocalOriginFailure >= o.consecutiveLocalOriginFailure) {
        candidates.push({ ep, reason: 'consecutive-local-origin-failure', enforcing: o.enforcingConsecutiveLocalOriginFailure });
      }
    }
    for (const ep of hosts) ep.resetVolumes();
    for (const c of candidates) this.#tryEject(c.ep, c.reason, c.enforcing);
  }

  #enforcingFor(reason: EjectionReason): number {
    const o = this.#o;
    switch (reason) {
      case 'consecutive-5xx':
        return o.enforcingConsecutive5xx;
      case 'consecutive-gateway-failure':
        return o.enforcingConsecutiveGatewayFailure;
      case 'consecutive-local-origin-failure':
        return o.enforcingConsecutiveLocalOriginFailure;
      case 'success-rate':
        return o.enforcingSuccessRate;
      case 'local-origin-success-rate':
        return o.enforcingLocalOriginSuccessRate;
      case 'failure-percentage':
        return o.enforcingFailurePercentage;
      case 'local-origin-failure-percentage':
        return o.enforcingFailurePercentageLocalOrigin;
    }
  }

  #queue(ep: TrackedEndpoint, reason: EjectionReason): void {
    if (this.#stopped) return;
    this.#queued.push({ ep, reason });
    if (this.#flushTimer === undefined) this.#flushTimer = this.#d.clock.setTimeout(() => this.#flush(), 0);
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const queued = this.#queued;
    this.#queued = [];
    for (const q of queued) {
      // The counter may have been reset (success, ejection) since it was queued.
      if (q.reason === 'consecutive-5xx' && q.ep.consecutive5xx < this.#o.consecutive5xx) continue;
      if (q.reason === 'consecutive-gateway-failure' && q.ep.consecutiveGatewayFailure < this.#o.consecutiveGatewayFailure) continue;
      if (q.reason === 'consecutive-local-origin-failure' && q.ep.consecutiveLocalOriginFailure < this.#o.consecutiveLocalOriginFailure) continue;
      this.#tryEject(q.ep, q.reason, this.#enforcingFor(q.reason));
    }
  }

  #tryEject(ep: TrackedEndpoint, reason: EjectionReason, enforcing: number): void {
    if (ep.ejection || ep.draining || ep.sink === null) return;
    // A threshold of 0 disables that detector.
    if (reason === 'consecutive-5xx' && this.#o.consecutive5xx === 0) return;
    if (reason === 'consecutive-gateway-failure' && this.#o.consecutiveGatewayFailure === 0) return;
    if (reason === 'consecutive-local-origin-failure' && this.#o.consecutiveLocalOriginFailure === 0) return;
    if (!enforced(enforcing, this.#d.rng)) {
      this.#d.onNotEjected?.(ep, reason, 'not-enforced');
      return;
    }
    const hosts = this.#d.hosts();
    let ejected = 0;
    for (const h of hosts) if (h.ejection) ejected++;
    if (!ejectionAllowed(ejected, hosts.length, this.#o.maxEjectionPercent, this.#o.alwaysEjectOneHost)) {
      this.#d.onNotEjected?.(ep, reason, 'overflow');
      return;
    }
    const o = this.#o;
    const clock = this.#d.clock;
    ep.ejectionMultiplier = nextMultiplier(ep.ejectionMultiplier, o.baseEjectionTimeMs, o.maxEjectionTimeMs);
    const duration = ejectionDuration(ep.ejectionMultiplier, o.baseEjectionTimeMs, o.maxEjectionTimeMs, o.maxEjectionTimeJitterMs, this.#d.rng);
    const now = clock.now();
    const wall = clock.wallNow();
    ep.ejection = { reason, at: now, until: now + duration, wallAt: wall, wallUntil: wall + duration };
    ep.ejections++;
    ep.resetConsecutive();
    this.#unejectTimers.set(
      ep,
      clock.setTimeout(() => {
        this.#unejectTimers.delete(ep);
        this.#doUneject(ep, 'ejection time elapsed');
      }, duration),
    );
    this.#d.onEject(ep, reason, duration);
  }

  #doUneject(ep: TrackedEndpoint, reason: string): void {
    if (!ep.ejection) return;
    ep.ejection = null;
    ep.lastUnejectedAt = this.#d.clock.now();
    ep.resetConsecutive();
    this.#d.onUneject(ep, reason);
  }

  #scheduleInterval(): void {
    this.#intervalTimer = this.#d.clock.setTimeout(() => {
      if (this.#stopped) return;
      this.sweep();
      this.#scheduleInterval();
    }, this.#o.intervalMs);
  }
}
