import type { Config } from './schema/index.ts';
import type { RawIssue } from './issue.ts';
import { resolveUnit } from '../deploy/options.ts';
import { resolveDockerDiscovery } from '../discovery/options.ts';

/** Must match src/deploy/labels.ts (config does not import deploy). */
const UNIT_LABEL = 'edgeplane.unit';
const COLOR_LABEL = 'edgeplane.color';

/**
 * Units refer to a route and to one cluster per color; each color's cluster
 * must find the containers a deploy makes (docker discovery selecting labels
 * the deploy puts on them, through the same daemon), and with host networking
 * every replica needs its own port.
 */
export function checkUnits(config: Config, issues: RawIssue[]): void {
  const seen = new Set<string>();
  const owner = new Map<string, string>();
  (config.units ?? []).forEach((u, i) => {
    const base = ['units', i];
    if (seen.has(u.name)) issues.push({ path: [...base, 'name'], message: `duplicate unit name "${u.name}"` });
    seen.add(u.name);
    const route = config.routes.find((r) => r.name === u.route);
    if (!route) issues.push({ path: [...base, 'route'], message: `no route named "${u.route}"` });
    if (u.colors[0] && u.colors[1] && u.colors[0].name === u.colors[1].name) issues.push({ path: [...base, 'colors', 1, 'name'], message: `the two colors need different names` });
    const { network, replicas, socket } = resolveUnit(u);
    u.colors.forEach((c, j) => {
      const path = [...base, 'colors', j];
      const prev = owner.get(c.cluster);
      if (prev !== undefined) issues.push({ path: [...path, 'cluster'], message: `cluster "${c.cluster}" already belongs to unit "${prev}"` });
      owner.set(c.cluster, u.name);
      const cluster = config.clusters.find((x) => x.name === c.cluster);
      if (!cluster) return void issues.push({ path: [...path, 'cluster'], message: `no cluster named "${c.cluster}"` });
      if (route && !route.split.some((e) => e.cluster === c.cluster)) {
        issues.push({ path: [...path, 'cluster'], message: `cluster "${c.cluster}" is not in the split of route "${route.name}" (add it, weight 0 for the idle color)` });
      }
      const d = cluster.discovery?.docker;
      if (!d) return void issues.push({ path: [...path, 'cluster'], message: `cluster "${c.cluster}" needs discovery.docker to find the containers of color "${c.name}"` });
      const made: Record<string, string> = { ...(u.template.labels ?? {}), [UNIT_LABEL]: u.name, [COLOR_LABEL]: c.name };
      const foreign = Object.entries(d.labels).filter(([k, v]) => made[k] !== v);
      if (foreign.length) {
        issues.push({ path: [...path, 'cluster'], message: `cluster "${c.cluster}" selects ${foreign.map(([k, v]) => `${k}=${v}`).join(', ')}, which the containers of color "${c.name}" do not carry (they carry ${Object.entries(made).map(([k, v]) => `${k}=${v}`).join(', ')})` });
      }
      const watched = resolveDockerDiscovery(d);
      if (watched.socket !== socket) issues.push({ path: [...path, 'cluster'], message: `cluster "${c.cluster}" watches ${watched.socket} but the unit runs containers on ${socket}` });
      if (network === 'host') {
        if ((c.hostPorts?.length ?? 0) < replicas) issues.push({ path: [...path, 'hostPorts'], message: `host networking: ${replicas} replica(s) need ${replicas} hostPorts` });
        if (watched.network !== 'host') issues.push({ path: [...path, 'cluster'], message: `the unit uses host networking: cluster "${c.cluster}" needs discovery.docker.network: host` });
      }
    });
    if (network === 'host') {
      const ports = u.colors.flatMap((c) => c.hostPorts ?? []);
      if (new Set(ports).size !== ports.length) issues.push({ path: [...base, 'colors'], message: 'host networking: every replica of both colors needs its own port (both colors run at once during a deploy)' });
    }
  });
}
