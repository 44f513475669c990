import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StaticRegionView } from '../../../src/dns/region-view.ts';
import { GeoLocator } from '../../../src/dns/geo/locator.ts';
import { planFamily, regionWeights, type AnswerPlan, type FamilyPlans } from '../../../src/dns/gtm/policy.ts';
import { selectAnswers } from '../../../src/dns/gtm/select.ts';
import { compileZones } from '../../../src/dns/zone/compile.ts';
import type { GtmSpec } from '../../../src/dns/zone/types.ts';
import { formatIp } from '../../../src/dns/wire/ip.ts';
import { seededRng } from '../../../src/util/rng.ts';

type RegionIn = { region: string; vips: string[]; weight: number; fallback?: string[] };

function spec(regions: RegionIn[], answers?: number | 'all'): GtmSpec {
  const { zones, issues } = compileZones({
    listen: ['127.0.0.1:0'],
    zones: [{ origin: 'svc.plus', soa: { mname: 'ns1.svc.plus', rname: 'h.svc.plus', refresh: 1, retry: 1, expire: 1, minimum: 1 }, nameservers: ['ns1.svc.plus'], gtm: [{ name: 'api', regions, ...(answers ? { answers } : {}) }] }],
  });
  assert.deepEqual(issues, []);
  return [...zones[0]!.nodes.values()].find((n) => n.gtm)!.gtm!;
}

const locator = (regions: string[]) => new GeoLocator(regions.map((r, i) => ({ cidr: `10.${i}.0.0/16`, region: r })));

function draw(plans: FamilyPlans, plan: AnswerPlan, n: number, seed: number, times: number): string[][] {
  const rng = seededRng(seed);
  const out = new Int32Array(16);
  const scratch = new Float64Array(16);
  const res: string[][] = [];
  for (let i = 0; i < times; i++) {
    const k = selectAnswers(plan, n, rng, out, scratch);
    res.push([...out.subarray(0, k)].map((c) => formatIp(plans.candidates[c]!.address)));
  }
  return res;
}

test('region weights: unknown regions are up with full health, down is 0, health scales and is clamped', () => {
  const view = new StaticRegionView();
  view.set('b', { state: 'down', health: 1 });
  view.set('c', { state: 'degraded', health: 0.5 });
  view.set('d', { state: 'up', health: 7 });
  view.set('e', { state: 'up', health: Number.NaN });
  const s = spec(['a', 'b', 'c', 'd', 'e'].map((r, i) => ({ region: r, vips: [`192.0.2.${i + 1}`], weight: 100 })));
  const w = regionWeights(s, view);
  assert.deepEqual(w.map((r) => [r.region, r.state, r.health, r.effectiveWeight]), [
    ['a', 'unknown', 1, 100],
    ['b', 'down', 0, 0],
    ['c', 'degraded', 0.5, 50],
    ['d', 'up', 1, 100],
    ['e', 'up', 0, 0],
  ]);
});

test('weighted pick follows effective weights (seeded, 20k draws)', () => {
  const view = new StaticRegionView();
  const s = spec([{ region: 'jp', vips: ['203.0.113.10'], weight: 120 }, { region: 'sg', vips: ['198.51.100.10'], weight: 80 }]);
  const plans = planFamily(s, regionWeights(s, view), 4, locator([]))!;
  assert.equal(plans.clientDependent, false, 'nothing locates clients: answers do not depend on them');
  const picks = draw(plans, plans.fallback, 1, 42, 20_000).map((p) => p[0]);
  const jp = picks.filter((p) => p === '203.0.113.10').length / picks.length;
  assert.ok(Math.abs(jp - 0.6) < 0.02, `jp share ${jp}`);
  view.set('sg', { state: 'degraded', health: 0.25 });
  const skewed = planFamily(s, regionWeights(s, view), 4, locator([]))!;
  const jp2 = draw(skewed, skewed.fallback, 1, 43, 20_000).filter((p) => p[0] === '203.0.113.10').length / 20_000;
  // 120 : 80 * 0.25 = 120 : 20
  assert.ok(Math.abs(jp2 - 120 / 140) < 0.02, `jp share ${jp2}`);
});

test('geo first: a client in an up region gets its VIPs; down region with fallback gets the first up fallback', () => {
  const view = new StaticRegionView();
  const s = spec([
    { region: 'jp', vips: ['203.0.113.10', '203.0.113.11'], weight: 100, fallback: ['kr', 'sg'] },
    { region: 'kr', vips: ['192.0.2.20'], weight: 100 },
    { region: 'sg', vips: ['198.51.100.10'], weight: 100 },
    { region: 'us', vips: ['192.0.2.30'], weight: 100 },
  ]);
  const loc = locator(['jp', 'kr', 'sg', 'us', 'eu']);
  let plans = planFamily(s, regionWeights(s, view), 4, loc)!;
  assert.ok(plans.clientDependent);
  const jpPlan = plans.byClientRegion[loc.regionIndex('jp')]!;
  assert.ok(jpPlan.geo);
  const jpPicks = new Set(draw(plans, jpPlan, 1, 1, 200).map((p) => p[0]));
  assert.deepEqual([...jpPicks].sort(), ['203.0.113.10', '203.0.113.11'], 'both jp VIPs, nothing else');
  assert.equal(plans.byClientRegion[loc.regionIndex('eu')], undefined, 'a region without VIPs uses the weighted fallback');

  view.set('jp', { state: 'down', health: 0 });
  view.set('kr', { state: 'down', health: 0 });
  plans = planFamily(s, regionWeights(s, view), 4, loc)!;
  const fallback = plans.byClientRegion[loc.regionIndex('jp')]!;
  assert.deepEqual(new Set(draw(plans, fallback, 1, 2, 100).map((p) => p[0])), new Set(['198.51.100.10']), 'kr is down too: sg');
  const usPlan = plans.byClientRegion[loc.regionIndex('us')]!;
  assert.deepEqual(new Set(draw(plans, usPlan, 1, 3, 100).map((p) => p[0])), new Set(['192.0.2.30']));
  // a region without fallback whose region is down: weighted among the up ones
  view.set('us', { state: 'down', health: 0 });
  plans = planFamily(s, regionWeights(s, view), 4, loc)!;
  assert.equal(plans.byClientRegion[loc.regionIndex('us')], undefined);
  assert.deepEqual(new Set(draw(plans, plans.fallback, 1, 4, 100).map((p) => p[0])), new Set(['198.51.100.10']));
});

test('fail open: every region down answers as if all were up, and says so', () => {
  const view = new StaticRegionView();
  view.set('jp', { state: 'down', health: 0 });
  view.set('sg', { state: 'down', health: 0 });
  const s = spec([{ region: 'jp', vips: ['203.0.113.10'], weight: 3 }, { region: 'sg', vips: ['198.51.100.10'], weight: 1 }]);
  const loc = locator(['jp']);
  const plans = planFamily(s, regionWeights(s, view), 4, loc)!;
  assert.ok(plans.failOpen && plans.fallback.failOpen);
  const jp = draw(plans, plans.fallback, 1, 5, 8000).filter((p) => p[0] === '203.0.113.10').length / 8000;
  assert.ok(Math.abs(jp - 0.75) < 0.03, `configured weights apply: ${jp}`);
  assert.ok(plans.byClientRegion[loc.regionIndex('jp')]!.geo, 'geo still applies while failing open');
  // administratively drained to 0 everywhere and down: still answers, evenly
  const zero = spec([{ region: 'jp', vips: ['203.0.113.10'], weight: 0 }, { region: 'sg', vips: ['198.51.100.10'], weight: 0 }]);
  const zp = planFamily(zero, regionWeights(zero, view), 4, loc)!;
  assert.equal(zp.fallback.size, 2);
});

test('answer count: N distinct addresses, geo region first, all = every up VIP', () => {
  const view = new StaticRegionView();
  view.set('us', { state: 'down', health: 0 });
  const s = spec([
    { region: 'jp', vips: ['203.0.113.10', '203.0.113.11'], weight: 10 },
    { region: 'sg', vips: ['198.51.100.10'], weight: 10 },
    { region: 'us', vips: ['192.0.2.30'], weight: 10 },
    { region: 'eu', vips: ['192.0.2.40', '2001:db8::40'], weight: 10 },
  ], 'all');
  assert.equal(s.answers, Infinity);
  const loc = locator(['jp']);
  const plans = planFamily(s, regionWeights(s, view), 4, loc)!;
  for (const picks of draw(plans, plans.byClientRegion[0]!, 10, 6, 200)) {
    assert.equal(picks.length, 4, 'us is down');
    assert.deepEqual(picks.slice(0, 2).sort(), ['203.0.113.10', '203.0.113.11']);
    assert.equal(new Set(picks).size, 4);
  }
  const two = draw(plans, plans.fallback, 2, 7, 500);
  assert.ok(two.every((p) => p.length === 2 && p[0] !== p[1]));
  const v6 = planFamily(s, regionWeights(s, view), 6, loc)!;
  assert.deepEqual(v6.candidates.map((c) => c.region), ['eu']);
  assert.equal(v6.byClientRegion[0], undefined, 'jp has no IPv6 VIP: AAAA is not geo for jp');
  const none = spec([{ region: 'jp', vips: ['203.0.113.10'], weight: 1 }]);
  assert.equal(planFamily(none, regionWeights(none, view), 6, loc), undefined);
});
