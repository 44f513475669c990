import { FencedError } from '../control/errors.ts';
import { isActive, type ReleaseRecord } from './model.ts';
import type { ReleaseContext, Run } from './release-context.ts';

/** The release's run, created on first use. */
export function runOf(ctx: ReleaseContext, rec: ReleaseRecord): Run {
  let run = ctx.runs.get(rec.id);
  if (!run) {
    run = { timer: undefined, gen: 0, base: null, windowMs: 0, awaitingStep: null, readinessDeadline: 0, pendingWindow: null };
    ctx.runs.set(rec.id, run);
  }
  return run;
}

/** On a transition: whatever the previous phase had scheduled or measured no longer counts. */
export function resetRun(ctx: ReleaseContext, rec: ReleaseRecord): void {
  const run = ctx.runs.get(rec.id);
  if (!run) return;
  run.gen++;
  ctx.o.clock.clearTimeout(run.timer);
  run.timer = undefined;
  run.base = null;
  run.awaitingStep = null;
  run.pendingWindow = null;
}

/** A finished release has no run any more. */
export function dropRun(ctx: ReleaseContext, rec: ReleaseRecord): void {
  const run = ctx.runs.get(rec.id);
  if (run) ctx.o.clock.clearTimeout(run.timer);
  ctx.runs.delete(rec.id);
}

/** Every run's timer stops and no queued step of theirs acts (a deposed driver). */
export function clearRuns(ctx: ReleaseContext): void {
  for (const run of ctx.runs.values()) {
    run.gen++;
    ctx.o.clock.clearTimeout(run.timer);
  }
  ctx.runs.clear();
}

/**
 * Runs one step of a release. When it throws (the release document or a
 * config version could not be persisted), the in-memory phase may already
 * be ahead of the disk: `recover` (restore.ts) re-drives the release from
 * that phase after retryDelay, so a release never sits stuck half-way.
 */
export async function drive(ctx: ReleaseContext, rec: ReleaseRecord, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof FencedError) ctx.o.fleet?.election.stepDown(err.message);
    if (isActive(rec.phase) && !ctx.closed && ctx.driving) {
      ctx.log.error({ release: rec.id, phase: rec.phase, err: (err as Error).message, retryInMs: ctx.o.retryDelayMs }, 'release step failed; retrying');
      schedule(ctx, rec, ctx.o.retryDelayMs, () => ctx.steps.recover(rec));
    }
    throw err;
  }
}

/** Queues `fn` as a step of the release (see `drive`); its failure is handled there, not by the caller. */
export function driveQueued(ctx: ReleaseContext, rec: ReleaseRecord, fn: () => Promise<void>): void {
  void ctx.queue.enqueue(() => drive(ctx, rec, fn)).catch(() => {});
}

/** Runs `fn` on the release's timer unless the release has moved on (or the controller closed) in the meantime. */
export function schedule(ctx: ReleaseContext, rec: ReleaseRecord, ms: number, fn: () => Promise<void>): void {
  if (!ctx.driving || ctx.closed) return;
  const run = runOf(ctx, rec);
  ctx.o.clock.clearTimeout(run.timer);
  const gen = run.gen;
  run.timer = ctx.o.clock.setTimeout(() => {
    run.timer = undefined;
    if (run.gen !== gen || ctx.closed || !ctx.driving) return;
    void ctx.queue
      .enqueue(async () => {
        if (run.gen === gen) await drive(ctx, rec, fn);
      })
      .catch(() => {});
  }, Math.max(0, ms));
}
