import type { ReleaseView } from '../release/view.ts';
import type { DeployRecord } from './model.ts';

/** GET /v1/releases/dep-N: the deploy, its containers and the release it handed over to. */
export interface DeployView {
  id: string;
  kind: 'deploy';
  unit: string;
  route: string;
  image: string;
  strategy: string;
  from: { color: string; cluster: string };
  to: { color: string; cluster: string };
  phase: string;
  reason: string;
  outcome: string | null;
  replicas: number;
  containers: { id: string; name: string }[];
  release: ReleaseView | null;
  /** Milliseconds left before the new color must be ready, while readying. */
  readinessLeftMs: number | null;
  timings: Record<string, number>;
  author: string;
  createdAt: string;
  updatedAt: string;
  history: { at: string; phase: string; reason: string }[];
}

export function deployView(rec: DeployRecord, release: ReleaseView | null, wallNow: number): DeployView {
  return {
    id: rec.id,
    kind: 'deploy',
    unit: rec.unit,
    route: rec.route,
    image: rec.image,
    strategy: rec.strategy,
    from: rec.from,
    to: rec.to,
    phase: rec.phase,
    reason: rec.reason,
    outcome: rec.outcome,
    replicas: rec.replicas,
    containers: rec.containers.map((c) => ({ id: c.id.slice(0, 12), name: c.name })),
    release,
    readinessLeftMs: rec.phase === 'readying' || rec.phase === 'starting' ? Math.max(0, rec.readyBy - wallNow) : null,
    timings: { ...rec.timings },
    author: rec.author,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    history: rec.history.map((h) => ({ ...h })),
  };
}
