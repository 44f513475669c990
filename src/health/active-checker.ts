import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { ActiveCheckOptions } from './options.ts';
import type { ActiveCheckState } from './types.ts';

export interface ProbeTarget {
  readonly address: string;
  readonly host: string;
  readonly port: number;
}

export interface ProbeResult {
  ok: boolean;
  /** Short human text: `status 200`, `connect ECONNREFUSED`, `body does not contain "ok"`. */
  detail: string;
}

/** One check against one endpoint. Must settle on abort; must never throw. */
export type Probe = (target: ProbeTarget, signal: AbortSignal) => Promise<ProbeResult>;

export interface CheckReport {
  target: ProbeTarget;
  passed: boolean;
  detail: string;
  /** The state after this check, and whether this check changed it. */
  state: ActiveCheckState;
  changed: boolean;
}

export interface ActiveCheckerDeps {
  clock: Clock;
  rng: Rng;
  probe: Probe;
  /** Whether the cluster has ever carried traffic (selects the no-traffic interval for healthy endpoints). */
  hadTraffic(): boolean;
  onCheck(report: CheckReport): void;
}

interface CheckState {
  target: ProbeTarget;
  state: ActiveCheckState;
  successes: number;
  failures: number;
  timer: TimerHandle | undefined;
  timeout: TimerHandle | undefined;
  controller: AbortController | undefined;
  /** Bumped per check so a late probe result of an abandoned check is ignored. */
  generation: number;
  lastCheckAt: number | null;
  lastResult: string | null;
  nextAt: number;
}

/**
 * Active health checking for one cluster's endpoints.
 *
 * Each endpoint has its own timer; the next check is scheduled when the
 * previous one has finished (passed, failed or timed out), so there is never
 * more than one check in flight per endpoint and a slow endpoint is not
 * probed harder. A new endpoint is `pending` (not eligible) until its first
 * check, unless `startHealthy`; like Envoy, that first check alone decides
 * (a single pass makes it healthy), afterwards the thresholds apply.
 */
export class ActiveChecker {
  #o: ActiveCheckOptions;
  readonly #d: ActiveCheckerDeps;
  readonly #states = new Map<ProbeTarget, CheckState>();
  #stopped = false;

  constructor(options: ActiveCheckOptions, deps: ActiveCheckerDeps) {
    this.#o = options;
    this.#d = deps;
  }

  get options(): ActiveCheckOptions {
    return this.#o;
  }

  /** New options apply from each endpoint's next check. */
  setOptions(options: ActiveCheckOptions): void {
    this.#o = options;
  }

  /**
   * Starts checking an endpoint; returns its initial state (`initial`, else
   * healthy with `startHealthy`, else pending). The first check runs within
   * `jitter`, spreading a burst of new endpoints.
   */
  add(target: ProbeTarget, initial?: 'healthy' | 'unhealthy' | 'pending'): ActiveCheckState {
    const existing = this.#states.get(target);
    if (existing) return existing.state;
    const s: CheckState = {
      target,
      state: initial ?? (this.#o.startHealthy ? 'healthy' : 'pending'),
      successes: 0,
      failures: 0,
      timer: undefined,
      timeout: undefined,
      controller: undefined,
      generation: 0,
      lastCheckAt: null,
      lastResult: null,
      nextAt: 0,
    };
    this.#states.set(target, s);
    if (!this.#stopped) this.#schedule(s, this.#jitter());
    return s.state;
  }

  remove(target: ProbeTarget): void {
    const s = this.#states.get(target);
    if (!s) return;
    this.#cancel(s);
    this.#states.delete(target);
  }

  state(target: ProbeTarget): { state: ActiveCheckState; successes: number; failures: number; lastCheckAt: number | null; lastResult: string | null } | undefined {
    const s = this.#states.get(target);
    return s && { state: s.state, successes: s.successes, failures: s.failures, lastCheckAt: s.lastCheckAt, lastResult: s.lastResult };
  }

  /**
   * The cluster carried its first request: healthy endpoints waiting out the
   * long no-traffic interval are brought forward to the normal interval.
   */
  trafficStarted(): void {
    if (this.#stopped) return;
    const now = this.#d.clock.now();
    for (const s of this.#states.values()) {
      if (s.controller !== undefined) continue; // in flight: it reschedules itself
      const soon = this.#o.intervalMs + this.#jitter();
      if (s.nextAt - now > soon) {
        this.#d.clock.clearTimeout(s.timer);
        this.#schedule(s, soon);
      }
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const s of this.#states.values()) this.#cancel(s);
  }

  #cancel(s: CheckState): void {
    s.generation++;
    this.#d.clock.clearTimeout(s.timer);
    this.#d.clock.clearTimeout(s.timeout);
    s.timer = undefined;
    s.timeout = undefined;
    s.controller?.abort();
    s.controller = undefined;
  }

  #jitter(): number {
    return this.#o.jitterMs > 0 ? Math.floor(this.#d.rng.next() * this.#o.jitterMs) : 0;
  }

  #schedule(s: CheckState, delay: number): void {
    s.nextAt = this.#d.clock.now() + delay;
    s.timer = this.#d.clock.setTimeout(() => {
      s.timer = undefined;
      this.#run(s);
    }, delay);
  }

  #run(s: CheckState): void {
    if (this.#stopped || this.#states.get(s.target) !== s) return;
    const generation = ++s.generation;
    const controller = new AbortController();
    s.controller = controller;
    s.timeout = this.#d.clock.setTimeout(() => {
      if (s.generation !== generation) return;
      controller.abort();
      this.#finish(s, generation, { ok: false, detail: `timeout after ${this.#o.timeoutMs}ms` });
    }, this.#o.timeoutMs);
    let probing: Promise<ProbeResult>;
    try {
      probing = this.#d.probe(s.target, controller.signal);
    } catch (err) {
      probing = Promise.resolve({ ok: false, detail: `probe error: ${(err as Error).message}` });
    }
    probing.then(
      (r) => this.#finish(s, generation, r),
      (err: unknown) => this.#finish(s, generation, { ok: false, detail: `probe error: ${(err as Error)?.message ?? String(err)}` }),
    );
  }

  #finish(s: CheckState, generation: number, result: ProbeResult): void {
    if (s.generation !== generation || this.#states.get(s.target) !== s) return;
    s.generation++; // settle once: a timeout and a late result cannot both count
    this.#d.clock.clearTimeout(s.timeout);
    s.timeout = undefined;
    s.controller = undefined;
    s.lastCheckAt = this.#d.clock.wallNow();
    s.lastResult = result.detail;
    const before = s.state;
    const o = this.#o;
    if (result.ok) {
      s.successes++;
      s.failures = 0;
      if (s.state === 'pending' || (s.state === 'unhealthy' && s.successes >= o.healthyThreshold)) s.state = 'healthy';
    } else {
      s.failures++;
      s.successes = 0;
      if (s.state === 'pending' || (s.state === 'healthy' && s.failures >= o.unhealthyThreshold)) s.state = 'unhealthy';
    }
    if (!this.#stopped) {
      const idle = s.state === 'healthy' && !this.#d.hadTraffic();
      this.#schedule(s, (idle ? o.noTrafficIntervalMs : o.intervalMs) + this.#jitter());
    }
    this.#d.onCheck({ target: s.target, passed: result.ok, detail: result.detail, state: s.state, changed: s.state !== before });
  }
}
