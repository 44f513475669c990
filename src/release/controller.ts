import type { ConfigStore } from '../control/store.ts';
import type { StateDir } from '../control/persistence.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { ReleaseConflictError, ReleaseStateError } from './errors.ts';
import type { DriverStatus, ReleaseFleet } from './fleet.ts';
import { FleetDriver, type ForwardedAction } from './fleet-driver.ts';
import { evaluate } from './gate-loop.ts';
import { releaseMetrics } from './metrics.ts';
import { isActive, type ReleaseRecord } from './model.ts';
import { WebhookNotifier, type WebhookSender } from './notifier.ts';
import { parseStartRequest } from './options.ts';
import { ReleaseState, type PersistedReleases } from './persistence.ts';
import { ReleaseContext } from './release-context.ts';
import { recover, resumeAfterRestart } from './restore.ts';
import { routeLock } from './route-lock.ts';
import { drive, driveQueued } from './scheduling.ts';
import { checkReadiness, enterWaiting, shift } from './step-window.ts';
import type { ReleaseStateStore } from './fleet-state.ts';
import type { HealthSource } from './target-health.ts';
import type { TrafficSource } from './traffic-stats.ts';
import { complete, emit, pause, rollback } from './transitions.ts';
import type { ReleaseView } from './view.ts';

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

/**
 * Runs releases: one per route, each a sequence of config versions written
 * through the ConfigStore (so audit, versions and rollback see every step),
 * judged by the gates over a window on the injected clock.
 *
 * This class is the coordinator: the API, and what it wires together. The
 * mechanisms live in their own files, all on one shared ReleaseContext:
 * scheduling.ts (one queue for every operation, so a release never sees two
 * of its own transitions interleave; per-release timers; retry on failure),
 * step-window.ts (readiness, step shifts, opening a window), gate-loop.ts
 * (evaluating the gates over the window), transitions.ts (the state machine,
 * promote/rollback/pause and the config write), restore.ts (carrying on after
 * a restart or a failure) and fleet-driver.ts (election, mirroring and
 * forwarding in a fleet).
 *
 * Each transition is persisted *before* the config write it implies: a
 * kill -9 between the two leaves a release document one step ahead of the
 * config, which a restart resolves by writing that step again (idempotent).
 * The release only ever writes a split it recognises as its own (the one it
 * started from or one of its steps); anything else means someone changed the
 * route behind its back, and it stops touching it.
 */
export class ReleaseController {
  readonly #ctx: ReleaseContext;
  readonly #fleet: FleetDriver | null;
  readonly #unsubscribe: (() => void)[] = [];

  private constructor(o: ReleaseControllerOptions, state: ReleaseStateStore, value: PersistedReleases) {
    const log = o.logger.child({ component: 'release' });
    const deps = { store: o.store, clock: o.clock, traffic: o.traffic, health: o.health, retryDelayMs: o.retryDelayMs ?? 5000, ...(o.fleet ? { fleet: o.fleet } : {}) };
    const ctx = new ReleaseContext(deps, log, state, new WebhookNotifier(log, o.webhook), value);
    ctx.steps = { evaluate: (rec) => evaluate(ctx, rec), recover: (rec) => recover(ctx, rec) };
    this.#ctx = ctx;
    this.#fleet = o.fleet ? new FleetDriver(ctx, o.fleet, this) : null;
    this.#unsubscribe.push(o.store.addGuard(routeLock(() => ctx.running())));
    if (o.health.onChange) this.#unsubscribe.push(o.health.onChange((cluster) => this.#onHealthChange(cluster)));
  }

  /**
   * Loads the persisted releases, locks their routes and carries on with the
   * running ones (restore.ts). In a fleet: starts as a follower of the state
   * in etcd until elected (fleet-driver.ts).
   */
  static async open(o: ReleaseControllerOptions): Promise<ReleaseController> {
    if (o.fleet) {
      const value = await o.fleet.state.load().catch((err: Error) => {
        o.logger.warn({ err: err.message }, 'cannot read the fleet release state yet; following it once etcd answers');
        return { format: 1 as const, nextId: 1, releases: [] };
      });
      const c = new ReleaseController(o, o.fleet.state, value);
      c.#unsubscribe.push(c.#fleet!.start());
      return c;
    }
    const { state, value } = await ReleaseState.open(o.stateDir, o.clock, o.logger);
    const c = new ReleaseController(o, state, value);
    const ctx = c.#ctx;
    for (const rec of ctx.running()) {
      releaseMetrics.active.labels(rec.spec.route).set(1);
      driveQueued(ctx, rec, () => resumeAfterRestart(ctx, rec));
    }
    return c;
  }

  /** GET /v1/status `releases`: who drives (in a fleet, the elected node; else this one). */
  driverStatus(): DriverStatus | { mode: 'local'; driving: true; driver: null } {
    return this.#ctx.o.fleet?.status() ?? { mode: 'local', driving: true, driver: null };
  }

  /** True when this node acts on releases: always with the file store; in a fleet, while elected. */
  get driving(): boolean {
    return this.#ctx.driving;
  }

  /** POST /v1/releases: validates, refuses a second release on the route, and starts by waiting for the target's readiness. */
  start(body: unknown, author: string): Promise<ReleaseView> {
    if (!this.driving) return this.#forward({ op: 'start', body, author });
    const ctx = this.#ctx;
    return ctx.queue.enqueue(async () => {
      const parsed = parseStartRequest(body, ctx.o.store.current.config);
      const existing = [...ctx.running()].find((r) => r.spec.route === parsed.spec.route);
      if (existing) {
        throw new ReleaseConflictError(existing.id, 'route', `route "${parsed.spec.route}" already has a release in progress: ${existing.id} (${existing.phase}, target ${existing.spec.target})`);
      }
      const now = ctx.iso();
      const rec: ReleaseRecord = {
        id: `rel-${ctx.nextId++}`,
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
      rec.history.push({ at: now, phase: 'waiting', step: -1, reason: rec.reason + (parsed.skippedSteps.length ? `; steps ${parsed.skippedSteps.join(', ')} skipped (at or below the target's share)` : ''), ...(ctx.o.fleet ? { driver: ctx.o.fleet.nodeId } : {}) });
      ctx.records.set(rec.id, rec);
      try {
        await ctx.save();
      } catch (err) {
        ctx.records.delete(rec.id);
        ctx.nextId--;
        throw err;
      }
      releaseMetrics.active.labels(rec.spec.route).set(1);
      emit(ctx, rec, null);
      // The release exists from here on: a failure in its first step is retried (see drive), not an error of the request.
      await drive(ctx, rec, () => enterWaiting(ctx, rec, null)).catch(() => {});
      return ctx.view(rec);
    });
  }

  get(id: string): ReleaseView {
    return this.#ctx.view(this.#ctx.find(id));
  }

  /** Running releases first, then finished ones, newest first. */
  list(): ReleaseView[] {
    const all = [...this.#ctx.records.values()].reverse();
    return [...all.filter((r) => isActive(r.phase)), ...all.filter((r) => !isActive(r.phase))].map((r) => this.#ctx.view(r));
  }

  /** Skips the rest of the current step's window (`full`: every remaining step) and moves on. Readiness is never skipped. */
  promote(id: string, author: string, full = false): Promise<ReleaseView> {
    if (!this.driving) return this.#forward({ op: 'promote', id, author, full });
    const ctx = this.#ctx;
    return ctx.queue.enqueue(async () => {
      const rec = ctx.find(id);
      const at = rec.phase === 'paused' ? rec.pausedFrom : rec.phase;
      if (rec.phase !== 'progressing' && !(rec.phase === 'paused' && at === 'progressing')) {
        const why = at === 'waiting' ? 'the target is not ready yet: promote skips windows, not readiness' : undefined;
        throw new ReleaseStateError(id, 'promote', rec.phase, why);
      }
      const last = rec.step >= rec.plan.length - 1;
      if (full || last) await drive(ctx, rec, () => complete(ctx, rec, `promoted by ${author}${last ? '' : ' (all remaining steps skipped)'}`));
      else await drive(ctx, rec, () => shift(ctx, rec, rec.step + 1, `promoted by ${author}: the rest of step ${rec.step + 1}'s window skipped`));
      return ctx.view(rec);
    });
  }

  /** Rolls back to the split before the release, now. */
  abort(id: string, author: string): Promise<ReleaseView> {
    if (!this.driving) return this.#forward({ op: 'abort', id, author });
    const ctx = this.#ctx;
    return ctx.queue.enqueue(async () => {
      const rec = ctx.find(id);
      if (!isActive(rec.phase) || rec.phase === 'rolling_back') throw new ReleaseStateError(id, 'abort', rec.phase);
      await drive(ctx, rec, () => rollback(ctx, rec, 'aborted', `aborted by ${author}`));
      return ctx.view(rec);
    });
  }

  /** Holds the weights where they are: no gate evaluation, no step, no timeout until resumed. */
  pause(id: string, author: string): Promise<ReleaseView> {
    if (!this.driving) return this.#forward({ op: 'pause', id, author });
    const ctx = this.#ctx;
    return ctx.queue.enqueue(async () => {
      const rec = ctx.find(id);
      if (rec.phase !== 'waiting' && rec.phase !== 'progressing') throw new ReleaseStateError(id, 'pause', rec.phase);
      await drive(ctx, rec, () => pause(ctx, rec, `paused by ${author}`));
      return ctx.view(rec);
    });
  }

  /** Carries on from where it was paused, with a fresh window (or a fresh readiness timeout). */
  resume(id: string, author: string): Promise<ReleaseView> {
    if (!this.driving) return this.#forward({ op: 'resume', id, author });
    const ctx = this.#ctx;
    return ctx.queue.enqueue(async () => {
      const rec = ctx.find(id);
      if (rec.phase !== 'paused') throw new ReleaseStateError(id, 'resume', rec.phase);
      if (rec.pausedFrom === 'waiting' || rec.step < 0) await drive(ctx, rec, () => enterWaiting(ctx, rec, `resumed by ${author}: waiting for cluster "${rec.spec.target}" to be ready`));
      else await drive(ctx, rec, () => shift(ctx, rec, rec.step, `resumed by ${author}: step ${rec.step + 1} re-applied, window restarted`));
      return ctx.view(rec);
    });
  }

  /** Resolves once nothing is queued (tests: after advancing the clock). */
  settled(): Promise<void> {
    return this.#ctx.queue.settled();
  }

  /** Resolves when every webhook event queued so far was delivered or given up on. */
  webhooksFlushed(): Promise<void> {
    return this.#ctx.notifier.flushed();
  }

  /** Stops timers and event subscriptions; persisted releases resume when the next controller opens. */
  close(): void {
    const ctx = this.#ctx;
    ctx.closed = true;
    this.#fleet?.close();
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const run of ctx.runs.values()) ctx.o.clock.clearTimeout(run.timer);
    ctx.runs.clear();
  }

  /** A follower hands the action to the driver (fleet-driver.ts). */
  #forward(action: ForwardedAction): Promise<ReleaseView> {
    return this.#fleet!.forward(action);
  }

  /** The target's health moved: a release waiting for its readiness checks now; one in a window evaluates now. */
  #onHealthChange(cluster: string): void {
    const ctx = this.#ctx;
    if (!ctx.driving) return;
    for (const rec of ctx.running()) {
      if (rec.spec.target !== cluster) continue;
      const run = ctx.runs.get(rec.id);
      if (run?.awaitingStep !== null && run?.awaitingStep !== undefined) driveQueued(ctx, rec, () => checkReadiness(ctx, rec));
      else if (rec.phase === 'progressing' && run?.base) driveQueued(ctx, rec, () => evaluate(ctx, rec));
    }
  }
}
