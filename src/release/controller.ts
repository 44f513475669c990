import type { ConfigStore } from '../control/store.ts';
import type { StateDir } from '../control/persistence.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { formatDuration } from '../util/duration.ts';
import { ReleaseConflictError, ReleaseNotFoundError, ReleaseStateError } from './errors.ts';
import { evaluateGates } from './gates.ts';
import { releaseMetrics } from './metrics.ts';
import { assertTransition, isActive, type HistoryEntry, type ReleasePhase, type ReleaseRecord, type SplitWeight } from './model.ts';
import { WebhookNotifier, type WebhookSender } from './notifier.ts';
import { parseStartRequest } from './options.ts';
import { KEEP_FINISHED, ReleaseState } from './persistence.ts';
import type { ReleaseStateStore } from './fleet-state.ts';
import type { DriverStatus, ReleaseFleet } from './fleet.ts';
import { FencedError, ControlError } from '../control/errors.ts';
import { RequestTimeoutError } from '../control/fleet-requests.ts';
import { routeLock } from './route-lock.ts';
import { splitAt, windowFor } from './strategy.ts';
import { writeSplit } from './split-writer.ts';
import { ejectionsSince, targetHealth, type HealthSource } from './target-health.ts';
import { delta, type TrafficCounters, type TrafficSource } from './traffic-stats.ts';
import { releaseView, type ReleaseView } from './view.ts';

export interface ReleaseControllerOptions {
  store: ConfigStore;
  stateDir: StateDir;
  clock: Clock;
  logger: Logger;
  traffic: TrafficSource;
  health: HealthSource;
  /** Replaces the webhook POST (tests). */
  webhook?: WebhookSender;
  /** Before retrying after a failure to persist (the release document or a config version); default 5s. */
  retryDelayMs?: number;
  /**
   * With the etcd store: one driver for the fleet (fleet.ts). The state then
   * lives in etcd, only the elected driver runs releases, and every other
   * node forwards the API's actions to it. Without it this node always drives.
   */
  fleet?: ReleaseFleet;
}

/** An action sent by a node that does not drive to the one that does (fleet-requests.ts). */
type ForwardedAction =
  | { op: 'start'; body: unknown; author: string }
  | { op: 'promote'; id: string; author: string; full: boolean }
  | { op: 'abort' | 'pause' | 'resume'; id: string; author: string };
type ForwardedAnswer = { ok: true; view: ReleaseView } | { ok: false; error: { kind: ControlError['kind']; code: string; issues: ControlError['issues'] } };

/** The in-memory side of a running release: its timer and the readings its window started from. */
interface Run {
  timer: TimerHandle | undefined;
  /** Bumped on every transition: a timer set in an earlier phase does nothing. */
  gen: number;
  base: { traffic: TrafficCounters; ejections: Map<string, number>; at: number } | null;
  windowMs: number;
  /** While waiting for the target's readiness: the step to shift to once it is ready. */
  awaitingStep: number | null;
  /** A step written but its window not open yet: the config version every live node must serve first. */
  pendingWindow: { version: number; deadline: number } | null;
  readinessDeadline: number;
}

/**
 * Runs releases: one per route, each a sequence of config versions written
 * through the ConfigStore (so audit, versions and rollback see every step),
 * judged by the gates over a window on the injected clock.
 *
 * Every operation (API calls, timers, health events) runs on one queue, so a
 * release never sees two of its own transitions interleave. Each transition is
 * persisted *before* the config write it implies: a kill -9 between the two
 * leaves a release document one step ahead of the config, which a restart
 * resolves by writing that step again (idempotent). The release only ever
 * writes a split it recognises as its own (the one it started from or one of
 * its steps); anything else means someone changed the route behind its back,
 * and it stops touching it.
 */
export class ReleaseController {
  readonly #o: Required<Omit<ReleaseControllerOptions, 'webhook' | 'fleet'>> & { fleet?: ReleaseFleet };
  readonly #log: Logger;
  readonly #state: ReleaseStateStore;
  /** With a fleet: whether this node is the elected driver (else it only mirrors the state and forwards actions). */
  #leading = false;
  /** What a release that carries on says happened (a restart of this gateway, or a takeover by this node). */
  #resumeCause: { after: string; headline: string } = { after: 'a gateway restart', headline: 'gateway restarted' };
  #mirrorTimer: TimerHandle | undefined;
  readonly #notifier: WebhookNotifier;
  readonly #records = new Map<string, ReleaseRecord>();
  readonly #runs = new Map<string, Run>();
  #nextId: number;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #unsubscribe: (() => void)[] = [];

  private constructor(o: ReleaseControllerOptions, state: ReleaseStateStore, nextId: number, records: ReleaseRecord[]) {
    this.#o = { retryDelayMs: 5000, ...o } as Required<Omit<ReleaseControllerOptions, 'webhook' | 'fleet'>> & { fleet?: ReleaseFleet };
    this.#log = o.logger.child({ component: 'release' });
    this.#state = state;
    this.#notifier = new WebhookNotifier(this.#log, o.webhook);
    this.#nextId = nextId;
    for (const r of records) this.#records.set(r.id, r);
  }

  /** Loads the persisted releases, locks their routes and carries on with the running ones (see `#resumeAfterRestart`). */
  static async open(o: ReleaseControllerOptions): Promise<ReleaseController> {
    if (o.fleet) return ReleaseController.#openFleet(o, o.fleet);
    const { state, value } = await ReleaseState.open(o.stateDir, o.clock, o.logger);
    const c = new ReleaseController(o, state, value.nextId, value.releases);
    c.#unsubscribe.push(o.store.addGuard(routeLock(() => c.#running())));
    if (o.health.onChange) c.#unsubscribe.push(o.health.onChange((cluster) => c.#onHealthChange(cluster)));
    for (const rec of c.#running()) {
      releaseMetrics.active.labels(rec.spec.route).set(1);
      void c.#enqueue(() => c.#drive(rec, () => c.#resumeAfterRestart(rec))).catch(() => {});
    }
    return c;
  }

  /**
   * In a fleet: start as a follower mirroring the state in etcd; the election
   * makes one node the driver (#takeOver) and deposes it when its lease may
   * have run out or a fenced write is refused (#stepDown).
   */
  static async #openFleet(o: ReleaseControllerOptions, fleet: ReleaseFleet): Promise<ReleaseController> {
    const value = await fleet.state.load().catch((err: Error) => {
      o.logger.warn({ err: err.message }, 'cannot read the fleet release state yet; following it once etcd answers');
      return { format: 1 as const, nextId: 1, releases: [] };
    });
    const c = new ReleaseController(o, fleet.state, value.nextId, value.releases);
    c.#unsubscribe.push(o.store.addGuard(routeLock(() => c.#running())));
    if (o.health.onChange) c.#unsubscribe.push(o.health.onChange((cluster) => c.#onHealthChange(cluster)));
    c.#unsubscribe.push(fleet.election.onChange((leading) => (leading ? c.#takeOver() : c.#stepDown())));
    c.#scheduleMirror();
    fleet.activeWhen(() => [...c.#running()].length > 0);
    fleet.start();
    return c;
  }

  /** GET /v1/status `releases`: who drives (in a fleet, the elected node; else this one). */
  driverStatus(): DriverStatus | { mode: 'local'; driving: true; driver: null } {
    return this.#o.fleet?.status() ?? { mode: 'local', driving: true, driver: null };
  }

  /** True when this node acts on releases: always with the file store; in a fleet, while elected. */
  get driving(): boolean {
    return !this.#o.fleet || this.#leading;
  }

  /** Elected: read the state as the last driver stored it and carry on with every running release from there. */
  #takeOver(): void {
    const fleet = this.#o.fleet!;
    this.#leading = true;
    releaseMetrics.driver.set(1);
    void this.#enqueue(async () => {
      if (!this.#leading) return;
      let value;
      try {
        value = await fleet.state.load();
      } catch (err) {
        fleet.election.stepDown(`cannot read the release state: ${(err as Error).message}`);
        return;
      }
      this.#clearRuns();
      this.#records.clear();
      for (const r of value.releases) this.#records.set(r.id, r);
      this.#nextId = value.nextId;
      this.#resumeCause = { after: 'a driver takeover', headline: 'this node took over as release driver' };
      const running = [...this.#running()];
      this.#log.warn({ running: running.map((r) => `${r.id} (${r.phase}, step ${r.step + 1})`) }, 'this node now drives the fleet\'s releases');
      fleet.requests.serve((payload) => this.#answer(payload as ForwardedAction), () => fleet.election.fence());
      for (const rec of running) {
        releaseMetrics.active.labels(rec.spec.route).set(1);
        void this.#enqueue(() => this.#drive(rec, () => this.#resumeAfterRestart(rec))).catch(() => {});
      }
    }).catch(() => {});
  }

  /** Deposed: stop acting at once (timers, queued steps and requests); the state in etcd is the driver's from now on. */
  #stepDown(): void {
    if (!this.#leading) return;
    this.#leading = false;
    releaseMetrics.driver.set(0);
    this.#o.fleet!.requests.stopServing();
    this.#clearRuns();
    this.#log.warn('this node no longer drives the fleet\'s releases; following the new driver');
    void this.#mirror();
  }

  #clearRuns(): void {
    for (const run of this.#runs.values()) {
      run.gen++;
      this.#o.clock.clearTimeout(run.timer);
    }
    this.#runs.clear();
  }

  /** A follower's view of the releases: the state the driver stored, re-read every half second. */
  #scheduleMirror(): void {
    if (this.#closed) return;
    this.#mirrorTimer = this.#o.clock.setTimeout(() => void this.#mirror().finally(() => this.#scheduleMirror()), 500);
  }

  async #mirror(): Promise<void> {
    if (this.#leading || this.#closed) return;
    const value = await this.#o.fleet!.state.load().catch(() => null);
    if (!value || this.#leading) return;
    this.#records.clear();
    for (const r of value.releases) this.#records.set(r.id, r);
    this.#nextId = value.nextId;
  }

  /** On a node that does not drive: the action goes to the driver through etcd, and its answer (or refusal) comes back. */
  async #forward(action: ForwardedAction): Promise<ReleaseView> {
    let answer: ForwardedAnswer;
    try {
      answer = (await this.#o.fleet!.requests.send(action)) as ForwardedAnswer;
    } catch (err) {
      if (err instanceof RequestTimeoutError) throw new ControlError('unavailable', err.taken ? 'EP_RELEASE_OUTCOME_UNKNOWN' : 'EP_RELEASE_NO_DRIVER', [{ path: '', message: err.message }]);
      throw new ControlError('unavailable', 'EP_RELEASE_NO_DRIVER', [{ path: '', message: `cannot reach the release driver through the store: ${(err as Error).message}` }]);
    }
    if (!answer.ok) throw new ControlError(answer.error.kind, answer.error.code, answer.error.issues);
    void this.#mirror();
    return answer.view;
  }

  /** On the driver: acts on an action forwarded by another node. */
  async #answer(a: ForwardedAction): Promise<ForwardedAnswer> {
    try {
      let view: ReleaseView;
      if (a.op === 'start') view = await this.start(a.body, a.author);
      else if (a.op === 'promote') view = await this.promote(a.id, a.author, a.full);
      else view = await this[a.op](a.id, a.author);
      return { ok: true, view };
    } catch (err) {
      if (err instanceof ControlError) return { ok: false, error: { kind: err.kind, code: err.code, issues: err.issues } };
      return { ok: false, error: { kind: 'unavailable', code: 'EP_RELEASE_DRIVER_ERROR', issues: [{ path: '', message: (err as Error).message }] } };
    }
  }

  /** POST /v1/releases: validates, refuses a second release on the route, and starts by waiting for the target's readiness. */
  start(body: unknown, author: string): Promise<ReleaseView> {
    if (!this.driving) return this.#forward({ op: 'start', body, author });
    return this.#enqueue(async () => {
      const parsed = parseStartRequest(body, this.#o.store.current.config);
      const existing = [...this.#running()].find((r) => r.spec.route === parsed.spec.route);
      if (existing) {
        throw new ReleaseConflictError(existing.id, 'route', `route "${parsed.spec.route}" already has a release in progress: ${existing.id} (${existing.phase}, target ${existing.spec.target})`);
      }
      const now = this.#iso();
      const rec: ReleaseRecord = {
        id: `rel-${this.#nextId++}`,
        spec: parsed.spec,
        originalSplit: parsed.originalSplit,
        plan: parsed.plan,
        skippedSteps: parsed.skippedSteps,
        phase: 'waiting',
        reason: `started by ${author}: waiting for cluster "${parsed.spec.target}" to be ready`,
        step: -1,
        pausedFrom: null,
        rollbackTo: null,
        author,
        createdAt: now,
        updatedAt: now,
        window: null,
        readings: null,
        versions: [],
        history: [],
      };
      rec.history.push({ at: now, phase: 'waiting', step: -1, reason: rec.reason + (parsed.skippedSteps.length ? `; steps ${parsed.skippedSteps.join(', ')} skipped (at or below the target's share)` : ''), ...(this.#o.fleet ? { driver: this.#o.fleet.nodeId } : {}) });
      this.#records.set(rec.id, rec);
      try {
        await this.#save();
      } catch (err) {
        this.#records.delete(rec.id);
        this.#nextId--;
        throw err;
      }
      releaseMetrics.active.labels(rec.spec.route).set(1);
      this.#emit(rec, null);
      // The release exists from here on: a failure in its first step is retried (see #drive), not an error of the request.
      await this.#drive(rec, () => this.#enterWaiting(rec, null)).catch(() => {});
      return this.#view(rec);
    });
  }

  get(id: string): ReleaseView {
    return this.#view(this.#find(id));
  }

  /** Running releases first, then finished ones, newest first. */
  list(): ReleaseView[] {
    const all = [...this.#records.values()].reverse();
    return [...all.filter((r) => isActive(r.phase)), ...all.filter((r) => !isActive(r.phase))].map((r) => this.#view(r));
  }

  /** Skips the rest of the current step's window (`full`: every remaining step) and moves on. Readiness is never skipped. */
  promote(id: string, author: string, full = false): Promise<ReleaseView> {
    if (!this.driving) return this.#forward({ op: 'promote', id, author, full });
    return this.#enqueue(async () => {
      const rec = this.#find(id);
      const at = rec.phase === 'paused' ? rec.pausedFrom : rec.phase;
      if (rec.phase !== 'progressing' && !(rec.phase === 'paused' && at === 'progressing')) {
        const why = at === 'waiting' ? 'the target is not ready yet: promote skips windows, not readiness' : undefined;
        throw new ReleaseStateError(id, 'promote', rec.phase, why);
      }
      const last = rec.step >= rec.plan.length - 1;
      if (full || last) await this.#drive(rec, () => this.#complete(rec, `promoted by ${author}${last ? '' : ' (all remaining steps skipped)'}`));
      else await this.#drive(rec, () => this.#shift(rec, rec.step + 1, `promoted by ${author}: the rest of step ${rec.step + 1}'s window skipped`));
      return this.#view(rec);
    });
  }

  /** Rolls back to the split before the release, now. */
  abort(id: string, author: string): Promise<ReleaseView> {
    if (!this.driving) return this.#forward({ op: 'abort', id, author });
    return this.#enqueue(async () => {
      const rec = this.#find(id);
      if (!isActive(rec.phase) || rec.phase === 'rolling_back') throw new ReleaseStateError(id, 'abort', rec.phase);
      await this.#drive(rec, () => this.#rollback(rec, 'aborted', `aborted by ${author}`));
      return this.#view(rec);
    });
  }

  /** Holds the weights where they are: no gate evaluation, no step, no timeout until resumed. */
  pause(id: string, author: string): Promise<ReleaseView> {
    if (!this.driving) return this.#forward({ op: 'pause', id, author });
    return this.#enqueue(async () => {
      const rec = this.#find(id);
      if (rec.phase !== 'waiting' && rec.phase !== 'progressing') throw new ReleaseStateError(id, 'pause', rec.phase);
      await this.#drive(rec, () => this.#pause(rec, `paused by ${author}`));
      return this.#view(rec);
    });
  }

  /** Carries on from where it was paused, with a fresh window (or a fresh readiness timeout). */
  resume(id: string, author: string): Promise<ReleaseView> {
    if (!this.driving) return this.#forward({ op: 'resume', id, author });
    return this.#enqueue(async () => {
      const rec = this.#find(id);
      if (rec.phase !== 'paused') throw new ReleaseStateError(id, 'resume', rec.phase);
      if (rec.pausedFrom === 'waiting' || rec.step < 0) await this.#drive(rec, () => this.#enterWaiting(rec, `resumed by ${author}: waiting for cluster "${rec.spec.target}" to be ready`));
      else await this.#drive(rec, () => this.#shift(rec, rec.step, `resumed by ${author}: step ${rec.step + 1} re-applied, window restarted`));
      return this.#view(rec);
    });
  }

  /** Resolves once nothing is queued (tests: after advancing the clock). */
  async settled(): Promise<void> {
    for (;;) {
      const q = this.#queue;
      await q.catch(() => {});
      await new Promise((r) => setImmediate(r));
      if (q === this.#queue) return;
    }
  }

  /** Resolves when every webhook event queued so far was delivered or given up on. */
  webhooksFlushed(): Promise<void> {
    return this.#notifier.flushed();
  }

  /** Stops timers and event subscriptions; persisted releases resume when the next controller opens. */
  close(): void {
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#mirrorTimer);
    this.#o.fleet?.requests.stopServing();
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const run of this.#runs.values()) this.#o.clock.clearTimeout(run.timer);
    this.#runs.clear();
  }

  // ---- transitions -------------------------------------------------------

  async #enterWaiting(rec: ReleaseRecord, reason: string | null): Promise<void> {
    if (reason !== null) {
      this.#enter(rec, 'waiting', reason);
      await this.#save();
    }
    await this.#awaitReady(rec, 0);
  }

  /** Shifts to plan step `step` once the target passes readiness; rolls back when it doesn't within readinessTimeout. */
  async #awaitReady(rec: ReleaseRecord, step: number): Promise<void> {
    const run = this.#run(rec);
    run.awaitingStep = step;
    run.readinessDeadline = this.#o.clock.now() + rec.spec.readinessTimeoutMs;
    await this.#checkReadiness(rec);
  }

  async #checkReadiness(rec: ReleaseRecord): Promise<void> {
    const run = this.#run(rec);
    const step = run.awaitingStep;
    if (step === null || (rec.phase !== 'waiting' && rec.phase !== 'progressing')) return;
    const target = rec.spec.target;
    const th = targetHealth(this.#o.health.report(), target);
    if (th.ready) {
      run.awaitingStep = null;
      return this.#shift(rec, step, step === 0 && rec.phase === 'waiting' ? `cluster "${target}" is ready (${th.detail})` : `resumed after ${this.#resumeCause.after} once cluster "${target}" was ready again: step re-applied, window restarted`);
    }
    if (this.#o.clock.now() >= run.readinessDeadline) {
      const shifted = rec.phase === 'waiting' ? 'no traffic was shifted' : `after ${this.#resumeCause.after}`;
      return this.#rollback(rec, 'rolled_back', `readiness: cluster "${target}" was not ready within ${formatDuration(rec.spec.readinessTimeoutMs)} (${th.detail}); ${shifted}`);
    }
    rec.reason =
      rec.phase === 'waiting'
        ? `waiting for cluster "${target}" to be ready: ${th.detail}`
        : `${this.#resumeCause.headline}: waiting for cluster "${target}" to be ready before step ${step + 1}'s window restarts: ${th.detail}`;
    const poll = Math.min(rec.spec.intervalMs, 1000, Math.max(1, run.readinessDeadline - this.#o.clock.now()));
    this.#schedule(rec, poll, () => this.#checkReadiness(rec));
  }

  /** Writes plan step `index`, then opens its window. */
  async #shift(rec: ReleaseRecord, index: number, reason: string): Promise<void> {
    const percent = rec.plan[index]!;
    const weights = splitAt(rec.originalSplit, rec.spec.target, percent);
    rec.step = index;
    rec.window = null;
    rec.readings = null;
    rec.pausedFrom = null;
    const entry = this.#enter(rec, 'progressing', `step ${index + 1}/${rec.plan.length}: ${rec.spec.target} ${percent}% (${reason})`, weights);
    releaseMetrics.targetPercent.labels(rec.spec.route).set(percent);
    await this.#save();
    const ok = await this.#write(rec, weights, entry, `step ${index + 1}/${rec.plan.length}, ${rec.spec.target} ${percent}%`);
    if (!ok) return;
    const run = this.#run(rec);
    run.pendingWindow = { version: entry.version ?? this.#o.store.current.version, deadline: this.#o.clock.now() + rec.spec.readinessTimeoutMs };
    await this.#openWindow(rec);
  }

  /**
   * Opens the step's window once every live node serves the step's config
   * version (fleet traffic sources say which do not yet): traffic still going
   * to the previous weights somewhere must not count towards this step. A
   * node that does not get there within readinessTimeout rolls the release back.
   */
  async #openWindow(rec: ReleaseRecord): Promise<void> {
    const run = this.#run(rec);
    const pending = run.pendingWindow;
    if (!pending || rec.phase !== 'progressing') return;
    if (this.#o.traffic.serving) {
      const { lagging } = await this.#o.traffic.serving(pending.version);
      if (lagging.length) {
        const who = lagging.map((n) => `${n.node} (serves ${n.version})`).join(', ');
        if (this.#o.clock.now() >= pending.deadline) {
          return this.#rollback(rec, 'rolled_back', `step ${rec.step + 1}/${rec.plan.length}: ${who} did not serve version ${pending.version} within ${formatDuration(rec.spec.readinessTimeoutMs)}`);
        }
        const reason = `${rec.reason.split(' [window waits')[0]} [window waits for ${who} to serve version ${pending.version}]`;
        this.#schedule(rec, Math.min(rec.spec.intervalMs, 250), () => this.#openWindow(rec));
        if (reason !== rec.reason) {
          rec.reason = reason;
          // Other nodes show what the driver stored: say what the release waits for.
          await this.#save();
        }
        return;
      }
    }
    run.pendingWindow = null;
    rec.reason = rec.reason.split(' [window waits')[0]!;
    run.windowMs = windowFor(rec.spec, rec.step, rec.plan.length);
    run.base = {
      traffic: await this.#o.traffic.read(rec.spec.route, rec.spec.target),
      ejections: await this.#ejections(rec.spec.target),
      at: this.#o.clock.now(),
    };
    rec.window = { startedAt: this.#iso(), durationMs: run.windowMs };
    await this.#save();
    this.#schedule(rec, Math.min(rec.spec.intervalMs, run.windowMs), () => this.#evaluate(rec));
  }

  /** Ejections of the target's endpoints: the whole fleet's with a fleet traffic source, else this node's health table. */
  async #ejections(target: string): Promise<Map<string, number>> {
    return this.#o.traffic.ejections ? this.#o.traffic.ejections(target) : targetHealth(this.#o.health.report(), target).ejections;
  }

  /** One gate evaluation over the window so far; at the window's end, the verdict. */
  async #evaluate(rec: ReleaseRecord): Promise<void> {
    const run = this.#runs.get(rec.id);
    if (rec.phase !== 'progressing' || !run?.base) return;
    const target = rec.spec.target;
    const now = await this.#o.traffic.read(rec.spec.route, target);
    const th = targetHealth(this.#o.health.report(), target);
    const d = delta(run.base.traffic, now);
    const elapsedMs = this.#o.clock.now() - run.base.at;
    const final = elapsedMs >= run.windowMs;
    const ejections = await this.#ejections(target);
    const readings = evaluateGates(
      { elapsedMs, ...d, ejections: ejectionsSince(run.base.ejections, ejections), ready: th.serving, healthy: th.healthy, total: th.total, readyDetail: th.detail },
      rec.spec.gates,
      final,
      this.#iso(),
    );
    rec.readings = readings;
    const stepName = `step ${rec.step + 1}/${rec.plan.length} (${target} ${rec.plan[rec.step]}%)`;
    switch (readings.verdict) {
      case 'fail':
        return this.#rollback(rec, 'rolled_back', `${stepName} failed: ${readings.reason}`);
      case 'inconclusive':
        return this.#pause(rec, `${stepName} ${readings.reason}; resume to observe again, promote to go on, abort to roll back`);
      case 'pass': {
        const summary = `${stepName} passed: ${readings.requests} requests, ${readings.errorRate}% errors, p99 ${readings.p99Ms}ms, ${readings.ejections} ejections`;
        if (rec.step + 1 < rec.plan.length) return this.#shift(rec, rec.step + 1, summary);
        return this.#complete(rec, summary);
      }
      case 'pending':
        this.#schedule(rec, Math.min(rec.spec.intervalMs, run.windowMs - elapsedMs), () => this.#evaluate(rec));
        // In a fleet the other nodes' API and dashboard show the readings the driver stored.
        if (this.#o.fleet) await this.#save();
    }
  }

  /** The target takes the whole route; every other cluster stays in the split at weight 0. */
  async #complete(rec: ReleaseRecord, reason: string): Promise<void> {
    const weights = splitAt(rec.originalSplit, rec.spec.target, 100);
    const entry = rec.phase === 'promoting' ? rec.history[rec.history.length - 1]! : this.#enter(rec, 'promoting', reason, weights);
    await this.#save();
    const ok = await this.#write(rec, weights, entry, `complete, ${rec.spec.target} 100%`);
    if (!ok) return;
    rec.window = null;
    const retired = rec.originalSplit.filter((e) => e.cluster !== rec.spec.target).map((e) => e.cluster);
    this.#enter(rec, 'succeeded', `${reason}; ${rec.spec.target} takes all of route "${rec.spec.route}"${retired.length ? `, ${retired.join(', ')} at weight 0` : ''}`);
    releaseMetrics.targetPercent.labels(rec.spec.route).set(100);
    await this.#finish(rec);
  }

  /** Restores the split exactly as it was before the release. */
  async #rollback(rec: ReleaseRecord, to: 'rolled_back' | 'aborted', reason: string): Promise<void> {
    let entry: HistoryEntry;
    if (rec.phase !== 'rolling_back') {
      rec.rollbackTo = to;
      entry = this.#enter(rec, 'rolling_back', reason, rec.originalSplit);
      await this.#save();
    } else {
      entry = rec.history[rec.history.length - 1]!;
    }
    const ok = await this.#write(rec, rec.originalSplit, entry, 'roll back to the previous split');
    if (!ok) return;
    rec.window = null;
    this.#enter(rec, rec.rollbackTo ?? to, rec.reason);
    releaseMetrics.targetPercent.labels(rec.spec.route).set(0);
    await this.#finish(rec);
  }

  async #pause(rec: ReleaseRecord, reason: string): Promise<void> {
    rec.pausedFrom = rec.phase === 'waiting' || rec.step < 0 ? 'waiting' : 'progressing';
    rec.window = null;
    this.#enter(rec, 'paused', reason);
    await this.#save();
  }

  /**
   * After a restart (or kill -9): a release that was moving carries on from
   * its last step with a fresh window, or pauses when configured so; one that
   * was rolling back or completing finishes that (it was decided before the
   * crash, so nothing completes silently); a paused one stays paused.
   */
  async #resumeAfterRestart(rec: ReleaseRecord): Promise<void> {
    this.#log.info({ release: rec.id, route: rec.spec.route, phase: rec.phase, step: rec.step }, 'release found after restart');
    switch (rec.phase) {
      case 'rolling_back':
        return this.#rollback(rec, rec.rollbackTo ?? 'rolled_back', rec.reason);
      case 'promoting':
        return this.#complete(rec, rec.reason);
      case 'paused':
        return;
      case 'waiting':
      case 'progressing':
        if (rec.spec.onRestart === 'pause') return this.#pause(rec, 'gateway restarted: paused as configured (onRestart: pause); resume to carry on with a fresh window');
        // The health table of a fresh process starts with unchecked endpoints: judge nothing before the target is ready again.
        rec.window = null;
        return this.#awaitReady(rec, Math.max(0, rec.step));
    }
  }

  // ---- mechanics ---------------------------------------------------------

  /**
   * Runs one step of a release. When it throws (the release document or a
   * config version could not be persisted), the in-memory phase may already
   * be ahead of the disk: `#recover` re-drives the release from that phase
   * after retryDelay, so a release never sits stuck half-way.
   */
  async #drive(rec: ReleaseRecord, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (err instanceof FencedError) this.#o.fleet?.election.stepDown(err.message);
      if (isActive(rec.phase) && !this.#closed && this.driving) {
        this.#log.error({ release: rec.id, phase: rec.phase, err: (err as Error).message, retryInMs: this.#o.retryDelayMs }, 'release step failed; retrying');
        this.#schedule(rec, this.#o.retryDelayMs, () => this.#recover(rec));
      }
      throw err;
    }
  }

  /** Carries on from whatever the release's phase says (after a failure): each of these steps is idempotent. */
  async #recover(rec: ReleaseRecord): Promise<void> {
    const run = this.#run(rec);
    switch (rec.phase) {
      case 'waiting':
        return this.#awaitReady(rec, 0);
      case 'progressing':
        if (run.base) return this.#evaluate(rec);
        if (run.awaitingStep !== null) return this.#checkReadiness(rec);
        if (run.pendingWindow) return this.#openWindow(rec);
        return this.#shift(rec, rec.step, 'step re-applied after a failure to persist, window restarted');
      case 'promoting':
        return this.#complete(rec, rec.reason);
      case 'rolling_back':
        return this.#rollback(rec, rec.rollbackTo ?? 'rolled_back', rec.reason);
      case 'paused':
        return this.#save();
    }
  }

  /**
   * Writes `weights` (see split-writer.ts) and does what keeps traffic safe
   * when that fails: a split that is no longer the release's own is left
   * alone (pause, or fail when rolling back or the route is gone); a write the
   * store refuses for good rolls back (or, for a rollback, fails loudly); a
   * write that could not be persisted is retried.
   */
  async #write(rec: ReleaseRecord, weights: SplitWeight[], entry: HistoryEntry, what: string): Promise<boolean> {
    const outcome = await writeSplit(this.#o.store, rec, weights, what, this.#o.fleet ? this.#o.fleet.election.fence() : undefined);
    switch (outcome.kind) {
      case 'fenced':
        // Another node drives now: it carries on from the state in etcd; nothing here may act any more.
        this.#o.fleet?.election.stepDown(outcome.message);
        return false;
      case 'written':
        if (outcome.version !== null) {
          entry.version = outcome.version;
          rec.versions.push(outcome.version);
        }
        return true;
      case 'drift':
        if (rec.phase === 'rolling_back' || outcome.routeGone) {
          this.#enter(rec, 'failed', `${rec.phase === 'rolling_back' ? `${rec.reason}; ` : ''}${outcome.message}: the split was left as it is`);
          await this.#finish(rec);
        } else {
          await this.#pause(rec, `${outcome.message}: the release no longer touches it; abort to end the release (the split is left as it is)`);
        }
        return false;
      case 'refused':
        if (rec.phase === 'rolling_back') {
          this.#enter(rec, 'failed', `${rec.reason}; cannot restore the previous split: ${outcome.message}`);
          await this.#finish(rec);
        } else {
          await this.#rollback(rec, 'rolled_back', `cannot apply ${what}: ${outcome.message}`);
        }
        return false;
      case 'transient':
        this.#log.error({ release: rec.id, err: outcome.message, retryInMs: this.#o.retryDelayMs }, `release config write failed (${what}); retrying`);
        rec.reason = `${rec.reason.split(' [retrying')[0]} [retrying: ${outcome.message}]`;
        this.#schedule(rec, this.#o.retryDelayMs, () => this.#recover(rec));
        return false;
    }
  }

  /** Moves to `to`: checked against the state machine, recorded in history, logged, counted and sent to the webhook. */
  #enter(rec: ReleaseRecord, to: ReleasePhase, reason: string, weights?: SplitWeight[]): HistoryEntry {
    assertTransition(rec.id, rec.phase, to);
    const from = rec.phase;
    rec.phase = to;
    rec.reason = reason;
    rec.updatedAt = this.#iso();
    if (isActive(to) && to !== 'rolling_back') rec.rollbackTo = null;
    const entry: HistoryEntry = { at: rec.updatedAt, phase: to, step: rec.step, ...(weights ? { weights: weights.map((e) => ({ ...e })) } : {}), reason, ...(this.#o.fleet ? { driver: this.#o.fleet.nodeId } : {}) };
    rec.history.push(entry);
    const run = this.#runs.get(rec.id);
    if (run) {
      run.gen++;
      this.#o.clock.clearTimeout(run.timer);
      run.timer = undefined;
      run.base = null;
      run.awaitingStep = null;
      run.pendingWindow = null;
    }
    this.#emit(rec, from);
    return entry;
  }

  #emit(rec: ReleaseRecord, from: ReleasePhase | null): void {
    releaseMetrics.transitions.labels(rec.spec.route, rec.phase).inc();
    const level = rec.phase === 'rolling_back' || rec.phase === 'failed' ? 'warn' : 'info';
    this.#log[level]({ event: 'release_transition', release: rec.id, route: rec.spec.route, target: rec.spec.target, from, phase: rec.phase, step: rec.step, reason: rec.reason }, `release ${rec.id}: ${from ?? 'new'} -> ${rec.phase}`);
    if (rec.spec.webhook) {
      this.#notifier.notify(rec.spec.webhook, {
        type: 'release.transition',
        at: rec.updatedAt,
        release: { id: rec.id, route: rec.spec.route, target: rec.spec.target, strategy: rec.spec.strategy },
        from,
        phase: rec.phase,
        reason: rec.reason,
        step: { index: rec.step, count: rec.plan.length, percent: rec.step >= 0 ? rec.plan[rec.step]! : null },
        weights: this.#lastWeights(rec),
        readings: rec.readings,
      });
    }
  }

  #lastWeights(rec: ReleaseRecord): SplitWeight[] {
    for (let i = rec.history.length - 1; i >= 0; i--) if (rec.history[i]!.weights) return rec.history[i]!.weights!;
    return rec.originalSplit;
  }

  async #finish(rec: ReleaseRecord): Promise<void> {
    const run = this.#runs.get(rec.id);
    if (run) this.#o.clock.clearTimeout(run.timer);
    this.#runs.delete(rec.id);
    releaseMetrics.active.labels(rec.spec.route).set(0);
    // Memory keeps what the document keeps: the running releases and the newest finished ones.
    const finished = [...this.#records.values()].filter((r) => !isActive(r.phase));
    for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.#records.delete(old.id);
    await this.#save();
  }

  #onHealthChange(cluster: string): void {
    if (!this.driving) return;
    for (const rec of this.#running()) {
      if (rec.spec.target !== cluster) continue;
      const run = this.#runs.get(rec.id);
      if (run?.awaitingStep !== null && run?.awaitingStep !== undefined) void this.#enqueue(() => this.#drive(rec, () => this.#checkReadiness(rec))).catch(() => {});
      else if (rec.phase === 'progressing' && run?.base) void this.#enqueue(() => this.#drive(rec, () => this.#evaluate(rec))).catch(() => {});
    }
  }

  /** Runs `fn` on the release's timer unless the release has moved on (or the controller closed) in the meantime. */
  #schedule(rec: ReleaseRecord, ms: number, fn: () => Promise<void>): void {
    if (!this.driving || this.#closed) return;
    const run = this.#run(rec);
    this.#o.clock.clearTimeout(run.timer);
    const gen = run.gen;
    run.timer = this.#o.clock.setTimeout(() => {
      run.timer = undefined;
      if (run.gen !== gen || this.#closed || !this.driving) return;
      void this.#enqueue(async () => {
        if (run.gen === gen) await this.#drive(rec, fn);
      }).catch(() => {});
    }, Math.max(0, ms));
  }

  #run(rec: ReleaseRecord): Run {
    let run = this.#runs.get(rec.id);
    if (!run) {
      run = { timer: undefined, gen: 0, base: null, windowMs: 0, awaitingStep: null, readinessDeadline: 0, pendingWindow: null };
      this.#runs.set(rec.id, run);
    }
    return run;
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw new Error('release controller closed');
      return fn();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  *#running(): Iterable<ReleaseRecord> {
    for (const r of this.#records.values()) if (isActive(r.phase)) yield r;
  }

  #find(id: string): ReleaseRecord {
    const rec = this.#records.get(id);
    if (!rec) throw new ReleaseNotFoundError(id);
    return rec;
  }

  #save(): Promise<void> {
    return this.#state.write(this.#nextId, this.#records.values());
  }

  #view(rec: ReleaseRecord): ReleaseView {
    let config;
    try {
      config = this.#o.store.current.config;
    } catch {
      config = undefined;
    }
    return releaseView(rec, config);
  }

  #iso(): string {
    return new Date(this.#o.clock.wallNow()).toISOString();
  }
}
