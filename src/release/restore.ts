import { evaluate } from './gate-loop.ts';
import type { ReleaseRecord } from './model.ts';
import type { ReleaseContext } from './release-context.ts';
import { runOf } from './scheduling.ts';
import { awaitReady, checkReadiness, openWindow, shift } from './step-window.ts';
import { complete, pause, rollback } from './transitions.ts';

/**
 * After a restart (or kill -9, or a takeover by this node): a release that
 * was moving carries on from its last step with a fresh window, or pauses
 * when configured so; one that was rolling back or completing finishes that
 * (it was decided before the crash, so nothing completes silently); a paused
 * one stays paused.
 */
export async function resumeAfterRestart(ctx: ReleaseContext, rec: ReleaseRecord): Promise<void> {
  ctx.log.info({ release: rec.id, route: rec.spec.route, phase: rec.phase, step: rec.step }, 'release found after restart');
  switch (rec.phase) {
    case 'rolling_back':
      return rollback(ctx, rec, rec.rollbackTo ?? 'rolled_back', rec.reason);
    case 'promoting':
      return complete(ctx, rec, rec.reason);
    case 'paused':
      return;
    case 'waiting':
    case 'progressing':
      if (rec.spec.onRestart === 'pause') return pause(ctx, rec, 'gateway restarted: paused as configured (onRestart: pause); resume to carry on with a fresh window');
      // The health table of a fresh process starts with unchecked endpoints: judge nothing before the target is ready again.
      rec.window = null;
      return awaitReady(ctx, rec, Math.max(0, rec.step));
  }
}

/** Carries on from whatever the release's phase says (after a failure): each of these steps is idempotent. */
export async function recover(ctx: ReleaseContext, rec: ReleaseRecord): Promise<void> {
  const run = runOf(ctx, rec);
  switch (rec.phase) {
    case 'waiting':
      return awaitReady(ctx, rec, 0);
    case 'progressing':
      if (run.base) return evaluate(ctx, rec);
      if (run.awaitingStep !== null) return checkReadiness(ctx, rec);
      if (run.pendingWindow) return openWindow(ctx, rec);
      return shift(ctx, rec, rec.step, 'step re-applied after a failure to persist, window restarted');
    case 'promoting':
      return complete(ctx, rec, rec.reason);
    case 'rolling_back':
      return rollback(ctx, rec, rec.rollbackTo ?? 'rolled_back', rec.reason);
    case 'paused':
      return ctx.save();
  }
}
