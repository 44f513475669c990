import { evaluateGates } from './gates.ts';
import type { ReleaseRecord } from './model.ts';
import type { ReleaseContext } from './release-context.ts';
import { schedule } from './scheduling.ts';
import { ejectionsOf, shift } from './step-window.ts';
import { ejectionsSince, targetHealth } from './target-health.ts';
import { delta } from './traffic-stats.ts';
import { complete, pause, rollback } from './transitions.ts';

/** One gate evaluation over the window so far; at the window's end, the verdict. */
export async function evaluate(ctx: ReleaseContext, rec: ReleaseRecord): Promise<void> {
  const run = ctx.runs.get(rec.id);
  if (rec.phase !== 'progressing' || !run?.base) return;
  const target = rec.spec.target;
  const now = await ctx.o.traffic.read(rec.spec.route, target);
  const th = targetHealth(ctx.o.health.report(), target);
  const d = delta(run.base.traffic, now);
  const elapsedMs = ctx.o.clock.now() - run.base.at;
  const final = elapsedMs >= run.windowMs;
  const ejections = await ejectionsOf(ctx, target);
  const readings = evaluateGates(
    { elapsedMs, ...d, ejections: ejectionsSince(run.base.ejections, ejections), ready: th.serving, healthy: th.healthy, total: th.total, readyDetail: th.detail },
    rec.spec.gates,
    final,
    ctx.iso(),
  );
  rec.readings = readings;
  const stepName = `step ${rec.step + 1}/${rec.plan.length} (${target} ${rec.plan[rec.step]}%)`;
  switch (readings.verdict) {
    case 'fail':
      return rollback(ctx, rec, 'rolled_back', `${stepName} failed: ${readings.reason}`);
    case 'inconclusive':
      return pause(ctx, rec, `${stepName} ${readings.reason}; resume to observe again, promote to go on, abort to roll back`);
    case 'pass': {
      const summary = `${stepName} passed: ${readings.requests} requests, ${readings.errorRate}% errors, p99 ${readings.p99Ms}ms, ${readings.ejections} ejections`;
      if (rec.step + 1 < rec.plan.length) return shift(ctx, rec, rec.step + 1, summary);
      return complete(ctx, rec, summary);
    }
    case 'pending':
      schedule(ctx, rec, Math.min(rec.spec.intervalMs, run.windowMs - elapsedMs), () => evaluate(ctx, rec));
      // In a fleet the other nodes' API and dashboard show the readings the driver stored.
      if (ctx.o.fleet) await ctx.save();
  }
}
