import { parseArgs } from 'node:util';
import type { FleetView } from '../gossip/fleet.ts';

const USAGE = `usage: edgeplane fleet [options]     the gossip fleet as this gateway sees it (GET /v1/fleet), and the config version every node serves (GET /v1/status)

  --admin URL      admin API (default $EDGEPLANE_ADMIN_URL, else http://127.0.0.1:9901)
  --token TOKEN    bearer token (default $EDGEPLANE_ADMIN_TOKEN)
  --json           print the API's JSON answer

Exit status: 0 shown, 1 the admin API refused or could not be reached, 2 usage error.`;

type Out = NodeJS.WritableStream;

interface FleetAnswer extends Partial<FleetView> {
  gossip: boolean;
  dns: { name: string; failOpen: boolean; regions: { region: string; state: string; health: number; configuredWeight: number; effectiveWeight: number; vips: string[] }[] }[];
}

/** `edgeplane fleet`: members, regions and DNS weights as tables. */
export async function fleetCommand(args: string[], out: Out = process.stdout, err: Out = process.stderr, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let v;
  try {
    ({ values: v } = parseArgs({ args, options: { admin: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    err.write(`edgeplane fleet: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (v.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const base = (v.admin ?? env.EDGEPLANE_ADMIN_URL ?? 'http://127.0.0.1:9901').replace(/\/+$/, '');
  const token = v.token ?? env.EDGEPLANE_ADMIN_TOKEN;
  let res: Response;
  try {
    res = await fetch(`${base}/v1/fleet`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch (e) {
    err.write(`edgeplane fleet: cannot reach ${base}: ${(e as Error).message}\n`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    err.write(`edgeplane fleet: ${res.status} ${text}\n`);
    return 1;
  }
  if (v.json) {
    out.write(text.endsWith('\n') ? text : `${text}\n`);
    return 0;
  }
  const f = JSON.parse(text) as FleetAnswer;
  out.write(renderFleet(f));
  // The config plane: which version each node serves (GET /v1/status; older gateways don't have it).
  try {
    const st = await fetch(`${base}/v1/status`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (st.ok) out.write(`\n${renderConfigStatus((await st.json()) as StatusAnswer)}`);
  } catch {
    /* the fleet view above is the answer; the status is extra */
  }
  return 0;
}

interface StatusAnswer {
  node: { id: string; region: string };
  version: number;
  store: { kind: string; up: boolean; storeVersion: number; location: string; refused: { version: number; errors: { path: string; message: string }[] } | null };
  nodes: { id: string; region: string; version: number; refused: { version: number; errors: number } | null; dnssec?: Record<string, string> }[] | null;
  releases?: { mode: string; driving: boolean; driver: { id: string; since: string; revision: number } | null } | null;
}

/** Per zone, the DNSKEY set each node serves (they must agree: docs/dns.md). */
function renderKeysets(nodes: NonNullable<StatusAnswer['nodes']>): string {
  const zones = [...new Set(nodes.flatMap((n) => Object.keys(n.dnssec ?? {})))].sort();
  return zones
    .map((zone) => {
      const sets = nodes.filter((n) => n.dnssec?.[zone] !== undefined).map((n) => `${n.id} ${n.dnssec![zone]}`);
      const distinct = new Set(nodes.map((n) => n.dnssec?.[zone]).filter((v) => v !== undefined)).size;
      return `dnssec ${zone}: ${distinct > 1 ? 'DNSKEY SETS DIFFER' : 'same DNSKEY set'} (${sets.join(', ')})\n`;
    })
    .join('');
}

/** The config store and, with etcd, every live node and the version it serves: drift shows as a version unlike the others. */
export function renderConfigStatus(s: StatusAnswer): string {
  const head = `config: ${s.store.kind} store ${s.store.location}, ${s.store.up ? 'reachable' : 'UNREACHABLE (serving the last good config)'}; this node serves version ${s.version}${s.store.kind === 'etcd' ? `, the store holds ${s.store.storeVersion}` : ''}\n`;
  const refused = s.store.refused ? `refused version ${s.store.refused.version}: ${s.store.refused.errors.map((e) => `${e.path || '(root)'}: ${e.message}`).join('; ')}\n` : '';
  const r = s.releases;
  const driver = r?.mode === 'fleet' ? `releases: driven by ${r.driver ? `${r.driver.id} (since ${r.driver.since}, leader revision ${r.driver.revision})` : 'NO NODE (election in progress)'}${r.driving ? ', this node' : ''}\n` : '';
  if (!s.nodes) return head + refused + driver;
  const newest = Math.max(...s.nodes.map((n) => n.version));
  const drives = (id: string) => (r?.driver?.id === id ? ', drives releases' : '');
  return head + refused + driver + table(['NODE', 'REGION', 'VERSION', 'STATE'], s.nodes.map((n) => [n.id + (n.id === s.node.id ? ' *' : ''), n.region, String(n.version), (n.refused ? `refused ${n.refused.version}` : n.version < newest ? 'behind' : 'current') + drives(n.id)])) + renderKeysets(s.nodes);
}

export function renderFleet(f: FleetAnswer): string {
  const parts: string[] = [];
  if (!f.gossip) parts.push('gossip is not configured on this gateway\n');
  else {
    const s = f.self!;
    parts.push(`${s.name} (${s.region}) at ${s.address}, incarnation ${s.incarnation}, health score ${s.healthScore}, ${s.members} members\n`);
    parts.push(
      table(
        ['MEMBER', 'REGION', 'ADDRESS', 'STATE', 'INC', 'LAST HEARD', 'HEALTH'],
        (f.members ?? []).map((m) => [m.name + (m.self ? ' *' : ''), m.region, m.address, m.state, String(m.incarnation), m.lastHeardMs === null ? '-' : ago(m.lastHeardMs), m.health ? `${m.health.state} ${pct(m.health.healthy)}` : '-']),
      ),
    );
    parts.push(
      table(
        ['REGION', 'STATE', 'HEALTH', 'GATEWAYS'],
        (f.regions ?? []).map((r) => [r.region, r.state, pct(r.health), `${r.gateways.alive + r.gateways.suspect}/${r.gateways.total} live, ${r.gateways.reporting} reporting`]),
      ),
    );
  }
  for (const name of f.dns ?? []) {
    parts.push(`${name.name}${name.failOpen ? ' (fail open: every region down)' : ''}\n`);
    parts.push(
      table(
        ['REGION', 'STATE', 'HEALTH', 'WEIGHT', 'VIPS'],
        name.regions.map((r) => [r.region, r.state, pct(r.health), `${round(r.effectiveWeight)} of ${r.configuredWeight}`, r.vips.join(' ')]),
      ),
    );
  }
  return parts.join('\n');
}

function round(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function pct(v: number): string {
  return `${Math.round(v * 100)}%`;
}

function ago(ms: number): string {
  return ms < 1000 ? `${ms}ms ago` : ms < 120_000 ? `${(ms / 1000).toFixed(1)}s ago` : `${Math.round(ms / 60_000)}m ago`;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}
