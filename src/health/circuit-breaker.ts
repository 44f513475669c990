import type { Counter } from 'prom-client';
import { counterOf } from '../metrics/registry.ts';
import { METRICS } from '../metrics/catalogue.ts';
import type { BreakerResource, ClusterBreaker } from './types.ts';
import type { BreakerLimits } from './options.ts';

const overflowTotal = counterOf(METRICS.circuitBreakerOverflowTotal);

const LIMIT_NAME: Record<BreakerResource, keyof BreakerLimits> = {
  connection: 'maxConnections',
  pending: 'maxPendingRequests',
  request: 'maxRequests',
  retry: 'maxRetries',
};

/**
 * Envoy-style circuit breaking for one cluster: plain counters compared with
 * limits, no time involved. Over a limit the caller fails fast (503 with
 * `x-edgeplane-overloaded: <limit>`) instead of queueing behind a cluster that
 * is already saturated. Limits can change on reload while requests are in
 * flight; counts are kept, so a lowered limit refuses new work until enough
 * in-flight work has finished.
 */
export class CircuitBreaker implements ClusterBreaker {
  readonly cluster: string;
  #limits: BreakerLimits;
  // Indexed by resource; numbers in fields rather than a Map keep tryAcquire branch-only.
  #connections = 0;
  #pending = 0;
  #requests = 0;
  #retries = 0;
  readonly #overflows = { maxConnections: 0, maxPendingRequests: 0, maxRequests: 0, maxRetries: 0 };
  readonly #overflowChildren: Record<keyof BreakerLimits, Counter.Internal>;

  constructor(cluster: string, limits: BreakerLimits) {
    this.cluster = cluster;
    this.#limits = { ...limits };
    this.#overflowChildren = {
      maxConnections: overflowTotal.labels(cluster, 'maxConnections'),
      maxPendingRequests: overflowTotal.labels(cluster, 'maxPendingRequests'),
      maxRequests: overflowTotal.labels(cluster, 'maxRequests'),
      maxRetries: overflowTotal.labels(cluster, 'maxRetries'),
    };
  }

  setLimits(limits: BreakerLimits): void {
    this.#limits = { ...limits };
  }

  get limits(): Readonly<BreakerLimits> {
    return this.#limits;
  }

  tryAcquire(kind: BreakerResource): string | null {
    switch (kind) {
      case 'request':
        if (this.#requests >= this.#limits.maxRequests) return this.#overflow('maxRequests');
        this.#requests++;
        return null;
      case 'pending':
        if (this.#pending >= this.#limits.maxPendingRequests) return this.#overflow('maxPendingRequests');
        this.#pending++;
        return null;
      case 'retry':
        if (this.#retries >= this.#limits.maxRetries) return this.#overflow('maxRetries');
        this.#retries++;
        return null;
      case 'connection':
        if (this.#connections >= this.#limits.maxConnections) return this.#overflow('maxConnections');
        this.#connections++;
        return null;
      default:
        return LIMIT_NAME[kind as BreakerResource] ?? 'unknown';
    }
  }

  release(kind: BreakerResource): void {
    // Never below zero: a double release is a caller bug, but it must not
    // silently raise the effective limit for everyone else.
    switch (kind) {
      case 'request':
        if (this.#requests > 0) this.#requests--;
        break;
      case 'pending':
        if (this.#pending > 0) this.#pending--;
        break;
      case 'retry':
        if (this.#retries > 0) this.#retries--;
        break;
      case 'connection':
        if (this.#connections > 0) this.#connections--;
        break;
    }
  }

  current(kind: BreakerResource): number {
    switch (kind) {
      case 'request':
        return this.#requests;
      case 'pending':
        return this.#pending;
      case 'retry':
        return this.#retries;
      case 'connection':
        return this.#connections;
    }
  }

  snapshot(): Record<keyof BreakerLimits, { limit: number; current: number; overflows: number }> {
    const l = this.#limits;
    const o = this.#overflows;
    return {
      maxConnections: { limit: l.maxConnections, current: this.#connections, overflows: o.maxConnections },
      maxPendingRequests: { limit: l.maxPendingRequests, current: this.#pending, overflows: o.maxPendingRequests },
      maxRequests: { limit: l.maxRequests, current: this.#requests, overflows: o.maxRequests },
      maxRetries: { limit: l.maxRetries, current: this.#retries, overflows: o.maxRetries },
    };
  }

  #overflow(limit: keyof BreakerLimits): string {
    this.#overflows[limit]++;
    this.#overflowChildren[limit].inc();
    return limit;
  }
}
