import type { ConfigStore } from '../../control/store.ts';
import type { VersionSummary } from '../../control/history.ts';
import type { HealthReport } from '../../health/types.ts';
import type { ReleaseController } from '../../release/controller.ts';
import type { ReleaseView } from '../../release/view.ts';
import { isActive } from '../../release/model.ts';
import type { FleetView } from '../../gossip/fleet.ts';
import type { GtmWeightsView } from '../../dns/server.ts';

/** Where the dashboard reads from: the same objects the /v1 routes answer from. */
export interface DashboardSources {
  store: ConfigStore;
  healthReport: () => HealthReport;
  releases?: ReleaseController | undefined;
  /** Effective DNS weights per GTM name (DnsServer.gtmWeights()); null without a `dns` section. */
  gtmWeights?: (() => GtmWeightsView | null) | undefined;
  /** Gossip members and region states (fleetView()); null without a `gossip` section. */
  fleet?: (() => FleetView | null) | undefined;
}

export interface DashboardRoute {
  name: string;
  hosts: string[];
  /** A one-line summary of the path match, e.g. `prefix /api`. */
  path: string | null;
  split: { cluster: string; weight: number }[];
  /** The id of the release running on this route, if any. */
  release: string | null;
}

/**
 * Everything the page shows except the traffic history, in one object. Each
 * part is null when the gateway does not run that component, so the page can
 * say "not configured" instead of showing an empty table as if it were data.
 */
export interface DashboardState {
  node: { id: string; region: string };
  config: { version: number; limit: number; history: VersionSummary[] };
  routes: DashboardRoute[];
  health: HealthReport;
  fleet: FleetView | null;
  dns: GtmWeightsView | null;
  releases: ReleaseView[] | null;
}

export function dashboardState(src: DashboardSources): DashboardState {
  const { version, config } = src.store.current;
  const history = src.store.history;
  const releases = src.releases?.list() ?? null;
  const running = new Map<string, string>();
  for (const r of releases ?? []) if (isActive(r.phase) && !running.has(r.route)) running.set(r.route, r.id);
  return {
    node: { id: config.node.id, region: config.node.region },
    config: { version, limit: history.limit, history: history.summaries() },
    routes: config.routes.map((r) => ({
      name: r.name,
      hosts: [...(r.match.hosts ?? [])],
      path: pathSummary(r.match.path),
      split: r.split.map((s) => ({ cluster: s.cluster, weight: s.weight })),
      release: running.get(r.name) ?? null,
    })),
    health: src.healthReport(),
    fleet: src.fleet?.() ?? null,
    dns: src.gtmWeights?.() ?? null,
    releases,
  };
}

function pathSummary(path: unknown): string | null {
  if (!path || typeof path !== 'object') return null;
  const [kind, value] = Object.entries(path as Record<string, unknown>)[0] ?? [];
  return kind === undefined ? null : `${kind} ${String(value)}`;
}
