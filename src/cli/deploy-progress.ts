import type { DeployView } from '../deploy/view.ts';

const TERMINAL = ['succeeded', 'rolled_back', 'aborted', 'failed'];

export function deployFinished(v: DeployView): boolean {
  return TERMINAL.includes(v.phase);
}

function seconds(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * One frame of `release deploy`'s progress: the step, the weights, the gate
 * readings and the time left (readiness deadline or observation window).
 * Pure: `now` is the wall clock in ms.
 */
export function formatDeployFrame(v: DeployView, now: number): string[] {
  const r = v.release;
  const lines = [`${v.id}  unit ${v.unit}  ${v.from.color} -> ${v.to.color}  ${v.image}  ${v.strategy}`];
  let step: string = v.phase;
  if (v.phase === 'readying' || v.phase === 'starting') step += `: ${v.containers.length}/${v.replicas} container(s) of ${v.to.color}${v.readinessLeftMs !== null ? `, ${seconds(v.readinessLeftMs)} left to be ready` : ''}`;
  else if (v.phase === 'releasing' && r) step += `: release ${r.id} ${r.phase}${r.step.index >= 0 ? ` step ${r.step.index + 1}/${r.step.count} (${r.target} ${r.step.percent}%)` : ''}`;
  lines.push(`  step:       ${step}`);
  lines.push(`  reason:     ${v.reason}`);
  const weights = r?.weights ?? null;
  if (weights) lines.push(`  weights:    ${weights.map((w) => `${w.cluster} ${w.weight}`).join(' / ')}`);
  const g = r?.readings;
  if (g) lines.push(`  gates:      ${g.requests} requests, ${g.errorRate ?? '-'}% errors, p99 ${g.p99Ms ?? '-'}ms, ${g.ejections} ejections, ${g.healthy}/${g.total} healthy -> ${g.verdict}`);
  if (r?.window && v.phase === 'releasing') lines.push(`  window:     ${seconds(Date.parse(r.window.endsAt) - now)} left of ${r.window.duration}`);
  if (v.containers.length) lines.push(`  containers: ${v.containers.map((c) => c.name).join(', ')}`);
  const t = v.timings;
  if (deployFinished(v) && Object.keys(t).length) lines.push(`  timings:    ${Object.entries(t).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)}s`).join(', ')}`);
  return lines;
}
