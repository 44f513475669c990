import { releaseMetrics } from './metrics.ts';
import { assertTransition, isActive, type HistoryEntry, type ReleasePhase, type ReleaseRecord, type SplitWeight } from './model.ts';
import { KEEP_FINISHED } from './persistence.ts';
import type { ReleaseContext } from './release-context.ts';
import { dropRun, resetRun, schedule } from './scheduling.ts';
import { writeSplit } from './split-writer.ts';
import { splitAt } from './strategy.ts';

/** Moves to `to`: checked against the state machine, recorded in history, logged, counted and sent to the webhook. */
export function enter(ctx: ReleaseContext, rec: ReleaseRecord, to: ReleasePhase, reason: string, weights?: SplitWeight[]): HistoryEntry {
  assertTransition(rec.id, rec.phase, to);
  const from = rec.phase;
  rec.phase = to;
  rec.reason = reason;
  rec.updatedAt = ctx.iso();
  if (isActive(to) && to !== 'rolling_back') rec.rollbackTo = null;
  const entry: HistoryEntry = { at: rec.updatedAt, phase: to, step: rec.step, ...(weights ? { weights: weights.map((e) => ({ ...e })) } : {}), reason, ...(ctx.o.fleet ? { driver: ctx.o.fleet.nodeId } : {}) };
  rec.history.push(entry);
  resetRun(ctx, rec);
  emit(ctx, rec, from);
  return entry;
}

/** A transition (or a release's creation, `from` null) in the log, the metrics and the webhook. */
export function emit(ctx: ReleaseContext, rec: ReleaseRecord, from: ReleasePhase | null): void {
  releaseMetrics.transitions.labels(rec.spec.route, rec.phase).inc();
  const level = rec.phase === 'rolling_back' || rec.phase === 'failed' ? 'warn' : 'info';
  ctx.log[level]({ event: 'release_transition', release: rec.id, route: rec.spec.route, target: rec.spec.target, from, phase: rec.phase, step: rec.step, reason: rec.reason }, `release ${rec.id}: ${from ?? 'new'} -> ${rec.phase}`);
  if (rec.spec.webhook) {
    ctx.notifier.notify(rec.spec.webhook, {
      type: 'release.transition',
      at: rec.updatedAt,
      release: { id: rec.id, route: rec.spec.route, target: rec.spec.target, strategy: rec.spec.strategy },
      from,
      phase: rec.phase,
      reason: rec.reason,
      step: { index: rec.step, count: rec.plan.length, percent: rec.step >= 0 ? rec.plan[rec.step]! : null },
      weights: lastWeights(rec),
      readings: rec.readings,
    });
  }
}

function lastWeights(rec: ReleaseRecord): SplitWeight[] {
  for (let i = rec.history.length - 1; i >= 0; i--) if (rec.history[i]!.weights) return rec.history[i]!.weights!;
  return rec.originalSplit;
}

/** The target takes the whole route; every other cluster stays in the split at weight 0. */
export async function complete(ctx: ReleaseContext, rec: ReleaseRecord, reason: string): Promise<void> {
  const weights = splitAt(rec.originalSplit, rec.spec.target, 100);
  const entry = rec.phase === 'promoting' ? rec.history[rec.history.length - 1]! : enter(ctx, rec, 'promoting', reason, weights);
  await ctx.save();
  const ok = await write(ctx, rec, weights, entry, `complete, ${rec.spec.target} 100%`);
  if (!ok) return;
  rec.window = null;
  const retired = rec.originalSplit.filter((e) => e.cluster !== rec.spec.target).map((e) => e.cluster);
  enter(ctx, rec, 'succeeded', `${reason}; ${rec.spec.target} takes all of route "${rec.spec.route}"${retired.length ? `, ${retired.join(', ')} at weight 0` : ''}`);
  releaseMetrics.targetPercent.labels(rec.spec.route).set(100);
  await finish(ctx, rec);
}

/** Restores the split exactly as it was before the release. */
export async function rollback(ctx: ReleaseContext, rec: ReleaseRecord, to: 'rolled_back' | 'aborted', reason: string): Promise<void> {
  let entry: HistoryEntry;
  if (rec.phase !== 'rolling_back') {
    rec.rollbackTo = to;
    entry = enter(ctx, rec, 'rolling_back', reason, rec.originalSplit);
    await ctx.save();
  } else {
    entry = rec.history[rec.history.length - 1]!;
  }
  const ok = await write(ctx, rec, rec.originalSplit, entry, 'roll back to the previous split');
  if (!ok) return;
  rec.window = null;
  enter(ctx, rec, rec.rollbackTo ?? to, rec.reason);
  releaseMetrics.targetPercent.labels(rec.spec.route).set(0);
  await finish(ctx, rec);
}

export async function pause(ctx: ReleaseContext, rec: ReleaseRecord, reason: string): Promise<void> {
  rec.pausedFrom = rec.phase === 'waiting' || rec.step < 0 ? 'waiting' : 'progressing';
  rec.window = null;
  enter(ctx, rec, 'paused', reason);
  await ctx.save();
}

/**
 * Writes `weights` (see split-writer.ts) and does what keeps traffic safe
 * when that fails: a split that is no longer the release's own is left
 * alone (pause, or fail when rolling back or the route is gone); a write the
 * store refuses for good rolls back (or, for a rollback, fails loudly); a
 * write that could not be persisted is retried.
 */
export async function write(ctx: ReleaseContext, rec: ReleaseRecord, weights: SplitWeight[], entry: HistoryEntry, what: string): Promise<boolean> {
  const outcome = await writeSplit(ctx.o.store, rec, weights, what, ctx.o.fleet ? ctx.o.fleet.election.fence() : undefined);
  switch (outcome.kind) {
    case 'fenced':
      // Another node drives now: it carries on from the state in etcd; nothing here may act any more.
      ctx.o.fleet?.election.stepDown(outcome.message);
      return false;
    case 'written':
      if (outcome.version !== null) {
        entry.version = outcome.version;
        rec.versions.push(outcome.version);
      }
      return true;
    case 'drift':
      if (rec.phase === 'rolling_back' || outcome.routeGone) {
        enter(ctx, rec, 'failed', `${rec.phase === 'rolling_back' ? `${rec.reason}; ` : ''}${outcome.message}: the split was left as it is`);
        await finish(ctx, rec);
      } else {
        await pause(ctx, rec, `${outcome.message}: the release no longer touches it; abort to end the release (the split is left as it is)`);
      }
      return false;
    case 'refused':
      if (rec.phase === 'rolling_back') {
        enter(ctx, rec, 'failed', `${rec.reason}; cannot restore the previous split: ${outcome.message}`);
        await finish(ctx, rec);
      } else {
        await rollback(ctx, rec, 'rolled_back', `cannot apply ${what}: ${outcome.message}`);
      }
      return false;
    case 'transient':
      ctx.log.error({ release: rec.id, err: outcome.message, retryInMs: ctx.o.retryDelayMs }, `release config write failed (${what}); retrying`);
      rec.reason = `${rec.reason.split(' [retrying')[0]} [retrying: ${outcome.message}]`;
      schedule(ctx, rec, ctx.o.retryDelayMs, () => ctx.steps.recover(rec));
      return false;
  }
}

async function finish(ctx: ReleaseContext, rec: ReleaseRecord): Promise<void> {
  dropRun(ctx, rec);
  releaseMetrics.active.labels(rec.spec.route).set(0);
  // Memory keeps what the document keeps: the running releases and the newest finished ones.
  const finished = [...ctx.records.values()].filter((r) => !isActive(r.phase));
  for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) ctx.records.delete(old.id);
  await ctx.save();
}
