import type { RegionState, RegionView } from '../region-view.ts';
import type { GeoLocator } from '../geo/locator.ts';
import type { GtmSpec } from '../zone/types.ts';

/** One address a GTM answer may contain. */
export interface Candidate {
  /** Index into the spec's regions. */
  regionIdx: number;
  region: string;
  address: Buffer;
}

/** A set of candidates drawn from with weights (without replacement). */
export interface PlanGroup {
  items: Int32Array;
  weights: Float64Array;
  total: number;
}

/**
 * How to fill one answer: groups in order, a weighted shuffle inside each,
 * until `answers` addresses are taken.
 */
export interface AnswerPlan {
  groups: PlanGroup[];
  /** The client's region (or its fallback) shaped this plan. */
  geo: boolean;
  failOpen: boolean;
  size: number;
}

export interface FamilyPlans {
  family: 4 | 6;
  candidates: Candidate[];
  /** For clients the geo table doesn't place, or whose region is down without fallback. */
  fallback: AnswerPlan;
  /** Indexed by GeoLocator region index; undefined = use `fallback`. */
  byClientRegion: (AnswerPlan | undefined)[];
  /** False when every client gets `fallback`: then the ECS scope is 0. */
  clientDependent: boolean;
  failOpen: boolean;
}

export interface RegionWeight {
  region: string;
  vips: string[];
  configuredWeight: number;
  health: number;
  state: RegionState;
  effectiveWeight: number;
}

export interface GtmNameWeights {
  name: string;
  /** Every region is down, so answers pretend all are up (and edgeplane_dns_gtm_fail_open_total counts them). */
  failOpen: boolean;
  regions: RegionWeight[];
}

/**
 * The rule for regions: a region the view has never heard of is up with full
 * health (fail open until a report arrives); `unknown` likewise; `down` is 0;
 * `up` and `degraded` scale the configured weight by health in [0, 1].
 */
export function regionWeights(spec: GtmSpec, view: RegionView): RegionWeight[] {
  return spec.regions.map((r) => {
    const status = view.get(r.region);
    const state: RegionState = status?.state ?? 'unknown';
    const health = status === undefined || state === 'unknown' ? 1 : state === 'down' ? 0 : clamp01(status.health);
    return { region: r.region, vips: [...r.vips], configuredWeight: r.weight, health, state, effectiveWeight: r.weight * health };
  });
}

function clamp01(n: number): number {
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
}

function group(items: number[], weights: number[]): PlanGroup {
  const w = Float64Array.from(weights);
  return { items: Int32Array.from(items), weights: w, total: w.reduce((a, b) => a + b, 0) };
}

/** Builds the plans of one address family, or undefined if no region has a VIP of it. */
export function planFamily(spec: GtmSpec, weights: RegionWeight[], family: 4 | 6, locator: GeoLocator): FamilyPlans | undefined {
  const candidates: Candidate[] = [];
  const byRegion: number[][] = spec.regions.map(() => []);
  spec.regions.forEach((r, i) => {
    for (const address of family === 4 ? r.v4 : r.v6) {
      byRegion[i]!.push(candidates.length);
      candidates.push({ regionIdx: i, region: r.region, address });
    }
  });
  if (candidates.length === 0) return undefined;

  const withVips = spec.regions.map((_, i) => byRegion[i]!.length > 0);
  let eff = weights.map((w, i) => (withVips[i] ? w.effectiveWeight : 0));
  const failOpen = eff.every((w) => w <= 0);
  if (failOpen) {
    // every region is down: answer as if all were up rather than not at all
    const configured = spec.regions.map((r, i) => (withVips[i] ? r.weight : 0));
    const anyConfigured = configured.some((w) => w > 0);
    eff = spec.regions.map((r, i) => (withVips[i] ? (anyConfigured ? r.weight : 1) : 0));
  }
  const up = eff.map((w) => w > 0);

  const weightedRest = (exclude: Set<number>): PlanGroup | undefined => {
    const items: number[] = [];
    const ws: number[] = [];
    spec.regions.forEach((_, i) => {
      if (!up[i] || exclude.has(i)) return;
      const per = eff[i]! / byRegion[i]!.length;
      for (const c of byRegion[i]!) {
        items.push(c);
        ws.push(per);
      }
    });
    return items.length ? group(items, ws) : undefined;
  };
  const evenly = (i: number): PlanGroup => group(byRegion[i]!, byRegion[i]!.map(() => 1));
  const finish = (groups: (PlanGroup | undefined)[], geo: boolean): AnswerPlan => {
    const gs = groups.filter((g): g is PlanGroup => g !== undefined);
    return { groups: gs, geo, failOpen, size: gs.reduce((n, g) => n + g.items.length, 0) };
  };

  const fallback = finish([weightedRest(new Set())], false);
  const byClientRegion: (AnswerPlan | undefined)[] = [];
  let clientDependent = false;
  locator.regions.forEach((clientRegion, li) => {
    const i = spec.regions.findIndex((r) => r.region === clientRegion);
    if (i < 0 || !withVips[i]) return;
    if (up[i]) {
      byClientRegion[li] = finish([evenly(i), weightedRest(new Set([i]))], true);
      clientDependent = true;
      return;
    }
    const preferred: number[] = [];
    for (const f of spec.regions[i]!.fallback) {
      const j = spec.regions.findIndex((r) => r.region === f);
      if (j >= 0 && up[j] && !preferred.includes(j)) preferred.push(j);
    }
    if (preferred.length === 0) return;
    byClientRegion[li] = finish([...preferred.map(evenly), weightedRest(new Set(preferred))], true);
    clientDependent = true;
  });
  return { family, candidates, fallback, byClientRegion, clientDependent, failOpen };
}
