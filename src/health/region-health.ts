import { RegionThresholds as RegionThresholdsSchema } from '../config/schema/health.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

/**
 * The record a gateway gossips about its own region entry: how much of the
 * upstream capacity behind each GTM name it can reach. Small on purpose; it
 * travels in every push-pull and in broadcasts on change.
 */
export interface RegionSelfHealth {
  /** Overall verdict with the thresholds from config. */
  state: 'up' | 'degraded' | 'down';
  /** Healthy share of all upstream endpoints this gateway routes to, 0..1. */
  healthy: number;
  /** Per GTM name (e.g. `api.svc.plus`): healthy share of the capacity behind it, 0..1. */
  names: Record<string, number>;
  /** Wall-clock ms when it was computed. */
  at: number;
  /** DNSSEC: zone -> fingerprint of the DNSKEY set this gateway serves (`unsigned` for a zone served unsigned), so peers can compare. */
  keysets?: Record<string, string>;
}

/** Percent thresholds on the healthy share, from `health.regionThresholds`. */
export interface RegionThresholds {
  degraded: number;
  down: number;
}

/** Declared on the schema fields (src/config/schema/health.ts). */
export const DEFAULT_REGION_THRESHOLDS: RegionThresholds = { ...defaultsOf(RegionThresholdsSchema, ['degraded', 'down']) };

/** Healthy and total endpoints per cluster; the endpoint table provides it. */
export interface ClusterCounts {
  counts(cluster: string): { healthy: number; total: number } | undefined;
}

/** The config parts region self-health reads (structurally, so callers can pass a whole Config). */
export interface RegionHealthConfig {
  routes: readonly { match: { hosts?: readonly string[] | undefined }; split: readonly { cluster: string; weight: number }[] }[];
  dns?: { zones: readonly { origin: string; gtm?: readonly { name: string }[] | undefined }[] } | undefined;
  health?: { regionThresholds?: { degraded?: number | undefined; down?: number | undefined } | undefined } | undefined;
}

export function regionThresholds(config: RegionHealthConfig): RegionThresholds {
  const t = config.health?.regionThresholds;
  return { degraded: t?.degraded ?? DEFAULT_REGION_THRESHOLDS.degraded, down: t?.down ?? DEFAULT_REGION_THRESHOLDS.down };
}

/** The fully qualified GTM names of the config (lowercase, no trailing dot). */
export function gtmNames(config: RegionHealthConfig): string[] {
  const out = new Set<string>();
  for (const zone of config.dns?.zones ?? []) {
    const origin = zone.origin.toLowerCase().replace(/\.$/, '');
    for (const g of zone.gtm ?? []) {
      const n = g.name.toLowerCase();
      if (n === '@' || n === '') out.add(origin);
      else if (n.endsWith('.')) out.add(n.slice(0, -1));
      else out.add(origin === '' ? n : `${n}.${origin}`);
    }
  }
  return [...out];
}

/** Whether a route's host list takes requests for `name`: no hosts (any host), the exact name, or a `*.suffix` wildcard. */
export function routeServesName(hosts: readonly string[] | undefined, name: string): boolean {
  if (hosts === undefined || hosts.length === 0) return true;
  for (const h of hosts) {
    const host = h.toLowerCase();
    if (host === name) return true;
    if (host.startsWith('*.') && name.endsWith(host.slice(1)) && name.length > host.length - 1) return true;
  }
  return false;
}

/** The weighted healthy share of one route's split, 0..1; null when the split has no weight or no endpoint at all. */
function routeShare(split: RegionHealthConfig['routes'][number]['split'], table: ClusterCounts): number | null {
  let weight = 0;
  let healthy = 0;
  for (const s of split) {
    if (s.weight <= 0) continue;
    const c = table.counts(s.cluster);
    weight += s.weight;
    if (c && c.total > 0) healthy += (s.weight * c.healthy) / c.total;
  }
  return weight > 0 ? healthy / weight : null;
}

export function grade(share: number, t: RegionThresholds): RegionSelfHealth['state'] {
  if (share <= 0 || share * 100 < t.down) return 'down';
  if (share * 100 < t.degraded) return 'degraded';
  return 'up';
}

/**
 * This gateway's view of its region, for gossip.
 *
 * - Per GTM name: the routes whose `match.hosts` take that name (a route
 *   without hosts takes every name) back it. Each route's share is the
 *   split-weighted healthy fraction of its clusters (a cluster with weight 0,
 *   e.g. an idle blue/green standby, does not count); the name's share is the
 *   mean over its routes. A name no route serves scores 0: requests for it
 *   would get 404 here.
 * - `healthy`: healthy endpoints / endpoints over every cluster some route
 *   sends traffic to.
 * - `state`: the worst grade of any name (`down` below `down`%, or at 0;
 *   `degraded` below `degraded`%); without GTM names, the grade of `healthy`.
 *   The region is only as good as the worst name it answers for, because DNS
 *   steers per region.
 */
export function computeRegionSelfHealth(config: RegionHealthConfig, table: ClusterCounts, wallNow: number): RegionSelfHealth {
  const t = regionThresholds(config);
  const names: Record<string, number> = {};
  let worst: RegionSelfHealth['state'] = 'up';
  const order = { up: 0, degraded: 1, down: 2 } as const;
  const gtm = gtmNames(config);
  for (const name of gtm) {
    let sum = 0;
    let n = 0;
    for (const r of config.routes) {
      if (!routeServesName(r.match.hosts, name)) continue;
      const share = routeShare(r.split, table);
      if (share === null) continue;
      sum += share;
      n++;
    }
    const share = n > 0 ? sum / n : 0;
    names[name] = round(share);
    const g = grade(share, t);
    if (order[g] > order[worst]) worst = g;
  }
  const used = new Set<string>();
  for (const r of config.routes) for (const s of r.split) if (s.weight > 0) used.add(s.cluster);
  let healthy = 0;
  let total = 0;
  for (const c of used) {
    const counts = table.counts(c);
    if (!counts) continue;
    healthy += counts.healthy;
    total += counts.total;
  }
  const overall = total > 0 ? healthy / total : 0;
  return { state: gtm.length > 0 ? worst : grade(overall, t), healthy: round(overall), names, at: wallNow };
}

/** Four decimals: the record is gossiped, and noise in the 1e-12 range would count as a change. */
function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
