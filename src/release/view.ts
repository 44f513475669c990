import type { Config } from '../config/schema/index.ts';
import { formatDuration } from '../util/duration.ts';
import type { GateReadings, HistoryEntry, ReleasePhase, ReleaseRecord, SplitWeight, Strategy } from './model.ts';

/** The body of GET /v1/releases/:id (and of every release write's answer). */
export interface ReleaseView {
  id: string;
  route: string;
  target: string;
  strategy: Strategy;
  phase: ReleasePhase;
  reason: string;
  pausedFrom: 'waiting' | 'progressing' | null;
  /** The step in force; index -1 before the first shift. */
  step: { index: number; count: number; percent: number | null };
  plan: number[];
  skippedSteps: number[];
  /** The route's split in the config in force right now (null when the route is gone). */
  weights: SplitWeight[] | null;
  /** The split before the release: what a rollback restores. */
  previousSplit: SplitWeight[];
  window: { startedAt: string; duration: string; durationMs: number; endsAt: string } | null;
  gates: { maxErrorRate: number; maxP99Latency: string; maxEjections: number; minRequests: number };
  readings: GateReadings | null;
  settings: { stepDuration: string; observe: string | null; interval: string; readinessTimeout: string; onRestart: 'resume' | 'pause'; webhook: string | null };
  author: string;
  createdAt: string;
  updatedAt: string;
  versions: number[];
  history: HistoryEntry[];
}

export function releaseView(rec: ReleaseRecord, config: Config | undefined): ReleaseView {
  const s = rec.spec;
  const route = config?.routes.find((r) => r.name === s.route);
  return {
    id: rec.id,
    route: s.route,
    target: s.target,
    strategy: s.strategy,
    phase: rec.phase,
    reason: rec.reason,
    pausedFrom: rec.pausedFrom,
    step: { index: rec.step, count: rec.plan.length, percent: rec.step >= 0 ? rec.plan[rec.step]! : null },
    plan: rec.plan,
    skippedSteps: rec.skippedSteps,
    weights: route ? route.split.map((e) => ({ cluster: e.cluster, weight: e.weight })) : null,
    previousSplit: rec.originalSplit,
    window: rec.window
      ? { startedAt: rec.window.startedAt, duration: formatDuration(rec.window.durationMs), durationMs: rec.window.durationMs, endsAt: new Date(Date.parse(rec.window.startedAt) + rec.window.durationMs).toISOString() }
      : null,
    gates: { maxErrorRate: s.gates.maxErrorRate, maxP99Latency: formatDuration(s.gates.maxP99Ms), maxEjections: s.gates.maxEjections, minRequests: s.gates.minRequests },
    readings: rec.readings,
    settings: {
      stepDuration: formatDuration(s.stepDurationMs),
      observe: s.observeMs === null ? null : formatDuration(s.observeMs),
      interval: formatDuration(s.intervalMs),
      readinessTimeout: formatDuration(s.readinessTimeoutMs),
      onRestart: s.onRestart,
      webhook: s.webhook === null ? null : redactUrl(s.webhook),
    },
    author: rec.author,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    versions: rec.versions,
    history: rec.history,
  };
}

/** Webhook URLs often carry a token (in the query or as user:password): status shows where events go, not the secret. */
export function redactUrl(text: string): string {
  const u = new URL(text);
  const auth = u.username || u.password ? '[redacted]@' : '';
  return `${u.protocol}//${auth}${u.host}${u.pathname}${u.search ? '?[redacted]' : ''}`;
}
