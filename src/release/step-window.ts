import { formatDuration } from '../util/duration.ts';
import { releaseMetrics } from './metrics.ts';
import type { ReleaseRecord } from './model.ts';
import type { ReleaseContext } from './release-context.ts';
import { runOf, schedule } from './scheduling.ts';
import { splitAt, windowFor } from './strategy.ts';
import { targetHealth } from './target-health.ts';
import { enter, rollback, write } from './transitions.ts';

/** Waiting for the target (a new release, or one resumed from waiting), then its first step. */
export async function enterWaiting(ctx: ReleaseContext, rec: ReleaseRecord, reason: string | null): Promise<void> {
  if (reason !== null) {
    enter(ctx, rec, 'waiting', reason);
    await ctx.save();
  }
  await awaitReady(ctx, rec, 0);
}

/** Shifts to plan step `step` once the target passes readiness; rolls back when it doesn't within readinessTimeout. */
export async function awaitReady(ctx: ReleaseContext, rec: ReleaseRecord, step: number): Promise<void> {
  const run = runOf(ctx, rec);
  run.awaitingStep = step;
  run.readinessDeadline = ctx.o.clock.now() + rec.spec.readinessTimeoutMs;
  await checkReadiness(ctx, rec);
}

export async function checkReadiness(ctx: ReleaseContext, rec: ReleaseRecord): Promise<void> {
  const run = runOf(ctx, rec);
  const step = run.awaitingStep;
  if (step === null || (rec.phase !== 'waiting' && rec.phase !== 'progressing')) return;
  const target = rec.spec.target;
  const th = targetHealth(ctx.o.health.report(), target);
  if (th.ready) {
    run.awaitingStep = null;
    return shift(ctx, rec, step, step === 0 && rec.phase === 'waiting' ? `cluster "${target}" is ready (${th.detail})` : `resumed after ${ctx.resumeCause.after} once cluster "${target}" was ready again: step re-applied, window restarted`);
  }
  if (ctx.o.clock.now() >= run.readinessDeadline) {
    const shifted = rec.phase === 'waiting' ? 'no traffic was shifted' : `after ${ctx.resumeCause.after}`;
    return rollback(ctx, rec, 'rolled_back', `readiness: cluster "${target}" was not ready within ${formatDuration(rec.spec.readinessTimeoutMs)} (${th.detail}); ${shifted}`);
  }
  rec.reason =
    rec.phase === 'waiting'
      ? `waiting for cluster "${target}" to be ready: ${th.detail}`
      : `${ctx.resumeCause.headline}: waiting for cluster "${target}" to be ready before step ${step + 1}'s window restarts: ${th.detail}`;
  const poll = Math.min(rec.spec.intervalMs, 1000, Math.max(1, run.readinessDeadline - ctx.o.clock.now()));
  schedule(ctx, rec, poll, () => checkReadiness(ctx, rec));
}

/** Writes plan step `index`, then opens its window. */
export async function shift(ctx: ReleaseContext, rec: ReleaseRecord, index: number, reason: string): Promise<void> {
  const percent = rec.plan[index]!;
  const weights = splitAt(rec.originalSplit, rec.spec.target, percent);
  rec.step = index;
  rec.window = null;
  rec.readings = null;
  rec.pausedFrom = null;
  const entry = enter(ctx, rec, 'progressing', `step ${index + 1}/${rec.plan.length}: ${rec.spec.target} ${percent}% (${reason})`, weights);
  releaseMetrics.targetPercent.labels(rec.spec.route).set(percent);
  await ctx.save();
  const ok = await write(ctx, rec, weights, entry, `step ${index + 1}/${rec.plan.length}, ${rec.spec.target} ${percent}%`);
  if (!ok) return;
  const run = runOf(ctx, rec);
  run.pendingWindow = { version: entry.version ?? ctx.o.store.current.version, deadline: ctx.o.clock.now() + rec.spec.readinessTimeoutMs };
  await openWindow(ctx, rec);
}

/**
 * Opens the step's window once every live node serves the step's config
 * version (fleet traffic sources say which do not yet): traffic still going
 * to the previous weights somewhere must not count towards this step. A
 * node that does not get there within readinessTimeout rolls the release back.
 */
export async function openWindow(ctx: ReleaseContext, rec: ReleaseRecord): Promise<void> {
  const run = runOf(ctx, rec);
  const pending = run.pendingWindow;
  if (!pending || rec.phase !== 'progressing') return;
  if (ctx.o.traffic.serving) {
    const { lagging } = await ctx.o.traffic.serving(pending.version);
    if (lagging.length) {
      const who = lagging.map((n) => `${n.node} (serves ${n.version})`).join(', ');
      if (ctx.o.clock.now() >= pending.deadline) {
        return rollback(ctx, rec, 'rolled_back', `step ${rec.step + 1}/${rec.plan.length}: ${who} did not serve version ${pending.version} within ${formatDuration(rec.spec.readinessTimeoutMs)}`);
      }
      const reason = `${rec.reason.split(' [window waits')[0]} [window waits for ${who} to serve version ${pending.version}]`;
      schedule(ctx, rec, Math.min(rec.spec.intervalMs, 250), () => openWindow(ctx, rec));
      if (reason !== rec.reason) {
        rec.reason = reason;
        // Other nodes show what the driver stored: say what the release waits for.
        await ctx.save();
      }
      return;
    }
  }
  run.pendingWindow = null;
  rec.reason = rec.reason.split(' [window waits')[0]!;
  run.windowMs = windowFor(rec.spec, rec.step, rec.plan.length);
  run.base = {
    traffic: await ctx.o.traffic.read(rec.spec.route, rec.spec.target),
    ejections: await ejectionsOf(ctx, rec.spec.target),
    at: ctx.o.clock.now(),
  };
  rec.window = { startedAt: ctx.iso(), durationMs: run.windowMs };
  await ctx.save();
  schedule(ctx, rec, Math.min(rec.spec.intervalMs, run.windowMs), () => ctx.steps.evaluate(rec));
}

/** Ejections of the target's endpoints: the whole fleet's with a fleet traffic source, else this node's health table. */
export async function ejectionsOf(ctx: ReleaseContext, target: string): Promise<Map<string, number>> {
  return ctx.o.traffic.ejections ? ctx.o.traffic.ejections(target) : targetHealth(ctx.o.health.report(), target).ejections;
}
