import type { ClusterConfig } from '../config/schema/index.ts';
import type { Clock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { parseHostPort } from '../util/address.ts';
import type { DiscoverySource, DiscoveryStatus } from '../discovery/types.ts';
import { ActiveChecker, type CheckReport, type Probe } from './active-checker.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { resolveClusterOptions, type ResolvedClusterOptions } from './cluster-options.ts';
import { DrainingEndpoints } from './draining-endpoints.ts';
import { computeEligibility } from './eligibility.ts';
import { clusterReport } from './health-report.ts';
import { TrackedEndpoint, type OutcomeSink } from './endpoint-state.ts';
import { forgetEndpointMetrics, refreshEndpoint } from './endpoint-transitions.ts';
import { createHttpProbe, type HttpProbeOptions } from './http-probe.ts';
import * as m from './metrics.ts';
import { OutlierDetector, type EjectionReason } from './outlier-detector.ts';
import type { ActiveCheckOptions, OutlierOptions } from './options.ts';
import { tcpProbe } from './tcp-probe.ts';
import { createGrpcProbe } from './grpc-probe.ts';
import type { ClusterHealthReport, UpstreamOutcome } from './types.ts';
import { createSourceOrStandIn } from './cluster-source.ts';

export type ProbeFactory = (options: ActiveCheckOptions, tls: HttpProbeOptions['tls']) => { probe: Probe; close(): Promise<void> };

export interface ClusterHealthDeps {
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** Directory relative paths in the config are resolved against. */
  baseDir: string;
  createSource(cluster: ClusterConfig): DiscoverySource;
  probeFactory?: ProbeFactory | undefined;
  /** How long a removed endpoint is reported as draining at most (it leaves earlier when its last request ends). */
  drainTimeoutMs: number;
  onTargetChange(cluster: string): void;
  onRemoved(endpoints: readonly TrackedEndpoint[]): void;
}

interface MutableTarget {
  name: string;
  endpoints: readonly TrackedEndpoint[];
  available: boolean;
  panic: boolean;
}

export const defaultProbeFactory: ProbeFactory = (o, tls) => {
  if (o.type === 'tcp') return { probe: tcpProbe, close: async () => {} };
  if (o.grpc !== null) return createGrpcProbe({ service: o.grpc.service, authority: o.grpc.authority, tls: o.grpc.tls ? (tls ?? { rejectUnauthorized: true }) : undefined });
  return createHttpProbe({ path: o.path, host: o.host, expectedStatuses: o.expectedStatuses, bodyMatch: o.bodyMatch, tls });
};

/**
 * Everything health knows and runs for one cluster: its endpoint set (from a
 * discovery source), active checks, outlier detection, circuit breaker and the
 * eligibility the edge reads. The state of each endpoint is recomputed on
 * every event that can change it, and the edge-facing target only when the
 * eligible list, availability or panic actually changed.
 */
export class ClusterHealth implements OutcomeSink {
  readonly name: string;
  readonly target: MutableTarget;
  readonly breaker: CircuitBreaker;
  hadTraffic = false;

  readonly #d: ClusterHealthDeps;
  #panicThreshold = 50;
  #all: TrackedEndpoint[] = [];
  #byAddress = new Map<string, TrackedEndpoint>();
  readonly #draining: DrainingEndpoints;
  #checker: ActiveChecker | null = null;
  #checkerKey = '';
  #closeProbe: (() => Promise<void>) | null = null;
  #detector: OutlierDetector | null = null;
  #source: DiscoverySource | null = null;
  #sourceKey = '';
  #healthy = 0;
  #closed = false;

  /** `options` defaults to resolving `config` here (throws on invalid options before anything starts). */
  constructor(config: ClusterConfig, deps: ClusterHealthDeps, options?: ResolvedClusterOptions) {
    const o = options ?? resolveClusterOptions(config, deps.baseDir);
    this.name = config.name;
    this.#d = deps;
    this.#draining = new DrainingEndpoints(deps.clock, deps.logger, deps.drainTimeoutMs);
    this.target = { name: config.name, endpoints: Object.freeze([]) as readonly TrackedEndpoint[], available: false, panic: false };
    this.breaker = new CircuitBreaker(config.name, o.breaker);
    this.configure(config, o);
  }

  /** Applies (new) config. Options are resolved first, so invalid options throw before anything changes. */
  configure(c: ClusterConfig, options?: ResolvedClusterOptions): void {
    const o = options ?? resolveClusterOptions(c, this.#d.baseDir);
    this.breaker.setLimits(o.breaker);
    this.#panicThreshold = o.panicThreshold;
    this.#configureChecker(o.check, o.tls);
    this.#configureDetector(o.outlier);
    this.#configureSource(c);
    this.#recompute();
  }

  // ---- OutcomeSink: the request path ----

  markTraffic(): void {
    if (this.hadTraffic) return;
    this.hadTraffic = true;
    // Off the request's stack: rescheduling touches every endpoint's timer.
    this.#d.clock.setTimeout(() => this.#checker?.trafficStarted(), 0);
  }

  record(ep: TrackedEndpoint, outcome: UpstreamOutcome): void {
    const d = this.#detector;
    if (d !== null) d.record(ep, outcome);
  }

  // ---- reads ----

  counts(): { healthy: number; total: number } {
    return { healthy: this.#healthy, total: this.#all.length };
  }

  discoveryStatus(): { kind: DiscoverySource['kind']; status: DiscoveryStatus } {
    const s = this.#source!;
    return { kind: s.kind, status: s.status() };
  }

  report(): ClusterHealthReport {
    return clusterReport({
      name: this.name,
      target: this.target,
      panicThreshold: this.#panicThreshold,
      healthy: this.#healthy,
      endpoints: this.#all,
      draining: this.#draining.endpoints(),
      discovery: this.discoveryStatus(),
      circuitBreaker: this.breaker.snapshot(),
      checkState: (ep) => this.#checker?.state(ep),
    });
  }

  /** Stops everything; endpoints are handed over for draining. */
  close(): TrackedEndpoint[] {
    if (this.#closed) return [];
    this.#closed = true;
    this.#source?.stop();
    this.#source = null;
    this.#checker?.stop();
    this.#checker = null;
    void this.#closeProbe?.();
    this.#closeProbe = null;
    this.#detector?.stop();
    this.#detector = null;
    const removed = this.#all;
    this.#all = [];
    this.#byAddress.clear();
    for (const ep of removed) forgetEndpointMetrics(ep);
    for (const ep of removed) ep.sink = null;
    this.#draining.close();
    for (const g of [m.clusterPanic, m.clusterHealthyEndpoints, m.clusterEndpoints]) g.remove(this.name);
    return removed;
  }

  // ---- endpoint set ----

  /** A complete new endpoint set from the discovery source. */
  setAddresses(addresses: readonly string[]): void {
    if (this.#closed) return;
    const next = new Map<string, TrackedEndpoint>();
    const added: TrackedEndpoint[] = [];
    for (const address of addresses) {
      if (next.has(address)) continue;
      const kept = this.#byAddress.get(address);
      if (kept) {
        next.set(address, kept);
        continue;
      }
      let hp: { host: string; port: number };
      try {
        hp = parseHostPort(address);
      } catch {
        this.#d.logger.warn({ event: 'endpoint_invalid', cluster: this.name, endpoint: address }, 'ignoring an endpoint address that does not parse');
        continue;
      }
      const ep = new TrackedEndpoint(this.name, address, hp.host, hp.port);
      ep.sink = this;
      next.set(address, ep);
      added.push(ep);
    }
    const removed: TrackedEndpoint[] = [];
    for (const [address, ep] of this.#byAddress) if (!next.has(address)) removed.push(ep);
    if (added.length === 0 && removed.length === 0) return;

    this.#byAddress = next;
    this.#all = [...next.values()];
    for (const ep of added) {
      ep.activeState = this.#checker ? this.#checker.add(ep) : 'disabled';
      ep.sinceWall = this.#d.clock.wallNow();
      this.#refresh(ep, 'added');
    }
    for (const ep of removed) this.#startDrain(ep);
    this.#recompute();
    if (removed.length > 0) this.#d.onRemoved(removed);
  }

  #startDrain(ep: TrackedEndpoint): void {
    this.#checker?.remove(ep);
    this.#detector?.forget(ep);
    ep.ejection = null;
    ep.sink = null;
    ep.draining = true;
    m.endpointHealthy.remove(this.name, ep.address);
    this.#refresh(ep, 'removed');
    this.#draining.add(ep);
  }

  // ---- mechanisms ----

  #configureChecker(options: ActiveCheckOptions | null, tls: HttpProbeOptions['tls']): void {
    const key = options ? JSON.stringify({ options, tls: tls ? { ...tls, ca: tls.ca?.toString('base64') } : null }) : '';
    if (key === this.#checkerKey) return;
    this.#checkerKey = key;
    const previous = this.#checker;
    previous?.stop();
    void this.#closeProbe?.();
    this.#checker = null;
    this.#closeProbe = null;
    if (!options) {
      for (const ep of this.#all) {
        ep.activeState = 'disabled';
        ep.activeDetail = null;
        this.#refresh(ep, 'active checks disabled');
      }
      return;
    }
    const { probe, close } = (this.#d.probeFactory ?? defaultProbeFactory)(options, tls);
    this.#closeProbe = close;
    const checker = new ActiveChecker(options, {
      clock: this.#d.clock,
      rng: this.#d.rng,
      probe,
      hadTraffic: () => this.hadTraffic,
      onCheck: (r) => this.#onCheck(r),
    });
    this.#checker = checker;
    for (const ep of this.#all) {
      // A changed check config must not take a serving endpoint out of
      // rotation until the new check has had its say: endpoints that were
      // eligible start healthy, the others keep waiting for a pass.
      const wasEligible = ep.activeState === 'healthy' || ep.activeState === 'disabled';
      ep.activeState = checker.add(ep, wasEligible ? 'healthy' : ep.activeState === 'unhealthy' ? 'unhealthy' : 'pending');
      this.#refresh(ep, 'active check config changed');
    }
  }

  #configureDetector(options: OutlierOptions | null): void {
    if (!options) {
      if (this.#detector) {
        this.#detector.stop();
        this.#detector = null;
        for (const ep of this.#all) {
          if (!ep.ejection) continue;
          ep.ejection = null;
          this.#refresh(ep, 'outlier detection disabled');
        }
      }
      return;
    }
    if (this.#detector) {
      this.#detector.setOptions(options);
      return;
    }
    this.#detector = new OutlierDetector(options, {
      clock: this.#d.clock,
      rng: this.#d.rng,
      hosts: () => this.#all,
      onEject: (ep, reason, durationMs) => this.#onEject(ep, reason, durationMs),
      onUneject: (ep, reason) => {
        this.#d.logger.info({ event: 'outlier_uneject', cluster: this.name, endpoint: ep.address, reason }, 'endpoint returned from ejection');
        this.#refresh(ep, reason);
        this.#recompute();
      },
      onNotEjected: (_ep, reason, why) => m.outlierNotEjected.labels(this.name, reason, why).inc(),
    });
    this.#detector.start();
  }

  #configureSource(c: ClusterConfig): void {
    const key = JSON.stringify(c.discovery ?? { static: c.endpoints ?? [] });
    if (key === this.#sourceKey && this.#source) return;
    this.#sourceKey = key;
    this.#source?.stop();
    const source = createSourceOrStandIn(c, this.#d);
    this.#source = source;
    // The old set stays in force until the new source delivers: switching a
    // cluster from static endpoints to DNS does not empty it meanwhile.
    source.start({
      endpoints: (addresses) => {
        if (this.#source === source) this.setAddresses(addresses);
      },
      status: (status) => {
        if (this.#source !== source) return;
        this.#d.logger.debug({ event: 'discovery_status', cluster: this.name, ok: status.ok }, 'discovery status');
      },
    });
  }

  #onCheck(r: CheckReport): void {
    const ep = this.#byAddress.get(r.target.address);
    if (!ep || ep !== r.target) return;
    m.activeChecks.labels(this.name, r.passed ? 'pass' : 'fail').inc();
    ep.activeDetail = r.detail;
    ep.activeState = r.state;
    if (r.passed && ep.ejection && this.#detector?.options.successfulActiveHealthCheckUnejectHost) {
      // Envoy semantics: the endpoint answers its health check, so the
      // ejection ends now rather than at the end of its time.
      this.#detector.uneject(ep, 'active check passed');
      return; // onUneject refreshed and recomputed
    }
    if (r.changed) {
      this.#refresh(ep, r.passed ? 'active check passed' : 'active check failed');
      this.#recompute();
    }
  }

  #onEject(ep: TrackedEndpoint, reason: EjectionReason, durationMs: number): void {
    m.outlierEjections.labels(this.name, reason).inc();
    this.#d.logger.warn(
      { event: 'outlier_ejection', cluster: this.name, endpoint: ep.address, reason, durationMs, times: ep.ejections, multiplier: ep.ejectionMultiplier },
      'endpoint ejected by outlier detection',
    );
    this.#refresh(ep, reason);
    this.#recompute();
  }

  // ---- state ----

  #refresh(ep: TrackedEndpoint, cause: string): void {
    refreshEndpoint(ep, cause, this.#d.clock.wallNow(), this.#d.logger);
  }

  #recompute(): void {
    if (this.#closed) return;
    const t = this.target;
    const e = computeEligibility(this.#all, this.#panicThreshold, t.endpoints);
    this.#healthy = e.healthy;
    m.clusterHealthyEndpoints.labels(this.name).set(e.healthy);
    m.clusterEndpoints.labels(this.name).set(this.#all.length);
    m.clusterPanic.labels(this.name).set(e.panic ? 1 : 0);
    if (e.endpoints === t.endpoints && e.available === t.available && e.panic === t.panic) return;
    if (e.panic !== t.panic) {
      // Panic while no endpoint has had its first check yet is the normal start (info); after that it is a warning.
      const starting = this.#all.every((ep) => ep.state === 'healthy' || ep.activeState === 'pending');
      this.#d.logger[starting ? 'info' : 'warn']({ event: e.panic ? 'panic_enter' : 'panic_exit', cluster: this.name, healthy: e.healthy, total: this.#all.length, threshold: this.#panicThreshold }, e.panic ? 'cluster entered panic mode: balancing across all endpoints' : 'cluster left panic mode');
    }
    t.endpoints = e.endpoints;
    t.available = e.available;
    t.panic = e.panic;
    this.#d.onTargetChange(this.name);
  }

}
