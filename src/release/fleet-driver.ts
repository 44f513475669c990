import { ControlError } from '../control/errors.ts';
import { RequestTimeoutError } from '../control/fleet-requests.ts';
import type { TimerHandle } from '../util/clock.ts';
import type { ReleaseFleet } from './fleet.ts';
import { releaseMetrics } from './metrics.ts';
import type { ReleaseContext } from './release-context.ts';
import { resumeAfterRestart } from './restore.ts';
import { clearRuns, driveQueued } from './scheduling.ts';
import type { ReleaseView } from './view.ts';

/** An action sent by a node that does not drive to the one that does (fleet-requests.ts). */
export type ForwardedAction =
  | { op: 'start'; body: unknown; author: string }
  | { op: 'promote'; id: string; author: string; full: boolean }
  | { op: 'abort' | 'pause' | 'resume'; id: string; author: string };
type ForwardedAnswer = { ok: true; view: ReleaseView } | { ok: false; error: { kind: ControlError['kind']; code: string; issues: ControlError['issues'] } };

/** The controller's API as the driver runs a forwarded action through it. */
export interface ReleaseActions {
  start(body: unknown, author: string): Promise<ReleaseView>;
  promote(id: string, author: string, full: boolean): Promise<ReleaseView>;
  abort(id: string, author: string): Promise<ReleaseView>;
  pause(id: string, author: string): Promise<ReleaseView>;
  resume(id: string, author: string): Promise<ReleaseView>;
}

/**
 * A controller's part in a fleet (fleet.ts): it starts as a follower
 * mirroring the state in etcd; the election makes one node the driver
 * (`takeOver`) and deposes it when its lease may have run out or a fenced
 * write is refused (`stepDown`). A follower forwards the API's actions to
 * the driver and returns its answer.
 */
export class FleetDriver {
  readonly #ctx: ReleaseContext;
  readonly #fleet: ReleaseFleet;
  readonly #actions: ReleaseActions;
  #mirrorTimer: TimerHandle | undefined;

  constructor(ctx: ReleaseContext, fleet: ReleaseFleet, actions: ReleaseActions) {
    this.#ctx = ctx;
    this.#fleet = fleet;
    this.#actions = actions;
  }

  /** Follows the election and the stored state; returns what unsubscribes from the election. */
  start(): () => void {
    const unsubscribe = this.#fleet.election.onChange((leading) => (leading ? this.#takeOver() : this.#stepDown()));
    this.#scheduleMirror();
    this.#fleet.activeWhen(() => [...this.#ctx.running()].length > 0);
    this.#fleet.start();
    return unsubscribe;
  }

  /** Elected: read the state as the last driver stored it and carry on with every running release from there. */
  #takeOver(): void {
    const ctx = this.#ctx;
    const fleet = this.#fleet;
    ctx.leading = true;
    releaseMetrics.driver.set(1);
    void ctx.queue
      .enqueue(async () => {
        if (!ctx.leading) return;
        let value;
        try {
          value = await fleet.state.load();
        } catch (err) {
          fleet.election.stepDown(`cannot read the release state: ${(err as Error).message}`);
          return;
        }
        clearRuns(ctx);
        ctx.load(value);
        ctx.resumeCause = { after: 'a driver takeover', headline: 'this node took over as release driver' };
        const running = [...ctx.running()];
        ctx.log.warn({ running: running.map((r) => `${r.id} (${r.phase}, step ${r.step + 1})`) }, 'this node now drives the fleet\'s releases');
        fleet.requests.serve((payload) => this.#answer(payload as ForwardedAction), () => fleet.election.fence());
        for (const rec of running) {
          releaseMetrics.active.labels(rec.spec.route).set(1);
          driveQueued(ctx, rec, () => resumeAfterRestart(ctx, rec));
        }
      })
      .catch(() => {});
  }

  /** Deposed: stop acting at once (timers, queued steps and requests); the state in etcd is the driver's from now on. */
  #stepDown(): void {
    const ctx = this.#ctx;
    if (!ctx.leading) return;
    ctx.leading = false;
    releaseMetrics.driver.set(0);
    this.#fleet.requests.stopServing();
    clearRuns(ctx);
    ctx.log.warn('this node no longer drives the fleet\'s releases; following the new driver');
    void this.#mirror();
  }

  /** A follower's view of the releases: the state the driver stored, re-read every half second. */
  #scheduleMirror(): void {
    if (this.#ctx.closed) return;
    this.#mirrorTimer = this.#ctx.o.clock.setTimeout(() => void this.#mirror().finally(() => this.#scheduleMirror()), 500);
  }

  async #mirror(): Promise<void> {
    const ctx = this.#ctx;
    if (ctx.leading || ctx.closed) return;
    const value = await this.#fleet.state.load().catch(() => null);
    if (!value || ctx.leading) return;
    ctx.load(value);
  }

  /** On a node that does not drive: the action goes to the driver through etcd, and its answer (or refusal) comes back. */
  async forward(action: ForwardedAction): Promise<ReleaseView> {
    let answer: ForwardedAnswer;
    try {
      answer = (await this.#fleet.requests.send(action)) as ForwardedAnswer;
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
      if (a.op === 'start') view = await this.#actions.start(a.body, a.author);
      else if (a.op === 'promote') view = await this.#actions.promote(a.id, a.author, a.full);
      else view = await this.#actions[a.op](a.id, a.author);
      return { ok: true, view };
    } catch (err) {
      if (err instanceof ControlError) return { ok: false, error: { kind: err.kind, code: err.code, issues: err.issues } };
      return { ok: false, error: { kind: 'unavailable', code: 'EP_RELEASE_DRIVER_ERROR', issues: [{ path: '', message: (err as Error).message }] } };
    }
  }

  /** Stops the mirror and the serving of forwarded actions (the controller closes). */
  close(): void {
    this.#ctx.o.clock.clearTimeout(this.#mirrorTimer);
    this.#fleet.requests.stopServing();
  }
}
