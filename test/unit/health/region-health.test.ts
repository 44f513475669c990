import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeRegionSelfHealth, gtmNames, routeServesName, grade, type RegionHealthConfig } from '../../../src/health/region-health.ts';

function counts(map: Record<string, [number, number]>) {
  return { counts: (c: string) => (map[c] ? { healthy: map[c]![0], total: map[c]![1] } : undefined) };
}

const config: RegionHealthConfig = {
  routes: [
    { match: { hosts: ['api.svc.plus'] }, split: [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }] },
    { match: { hosts: ['*.svc.plus'] }, split: [{ cluster: 'www', weight: 1 }] },
    { match: { hosts: ['admin.other.example'] }, split: [{ cluster: 'standby', weight: 0 }, { cluster: 'admin', weight: 1 }] },
  ],
  dns: { zones: [{ origin: 'svc.plus.', gtm: [{ name: 'api' }, { name: '@' }, { name: 'static.cdn.example.' }] }] },
};

test('GTM names are fully qualified from their zone', () => {
  assert.deepEqual(gtmNames(config), ['api.svc.plus', 'svc.plus', 'static.cdn.example']);
});

test('routes serve a name by exact host, *.suffix wildcard, or no hosts at all', () => {
  assert.equal(routeServesName(['api.svc.plus'], 'api.svc.plus'), true);
  assert.equal(routeServesName(['API.svc.plus'], 'api.svc.plus'), true);
  assert.equal(routeServesName(['*.svc.plus'], 'api.svc.plus'), true);
  assert.equal(routeServesName(['*.svc.plus'], 'svc.plus'), false, 'a wildcard needs a label');
  assert.equal(routeServesName(undefined, 'anything.example'), true);
  assert.equal(routeServesName(['a.example'], 'b.example'), false);
});

test('per name: split-weighted healthy share, averaged over the routes that serve it', () => {
  const h = computeRegionSelfHealth(config, counts({ blue: [2, 2], green: [0, 1], www: [1, 2], admin: [1, 1], standby: [0, 5] }), 1234);
  // api.svc.plus: route api = 0.9*1 + 0.1*0 = 0.9, route *.svc.plus = 0.5 -> mean 0.7
  assert.equal(h.names['api.svc.plus'], 0.7);
  assert.equal(h.names['svc.plus'], 0, 'no route serves the apex: nothing could answer it here');
  assert.equal(h.names['static.cdn.example'], 0);
  // overall: clusters with weight > 0 = blue, green, www, admin: 4 of 6 healthy (standby has weight 0)
  assert.equal(h.healthy, 0.6667);
  assert.equal(h.state, 'down', 'worst name decides');
  assert.equal(h.at, 1234);
});

test('thresholds from config grade the worst name; without GTM names the overall share', () => {
  const oneName: RegionHealthConfig = { ...config, dns: { zones: [{ origin: 'svc.plus', gtm: [{ name: 'api' }] }] }, health: { regionThresholds: { degraded: 90, down: 50 } } };
  const all = { blue: [2, 2], green: [1, 1], www: [2, 2] } as Record<string, [number, number]>;
  assert.equal(computeRegionSelfHealth(oneName, counts(all), 0).state, 'up');
  all.www = [1, 2]; // api = (1 + 0.5) / 2 = 0.75 -> degraded below 90
  assert.equal(computeRegionSelfHealth(oneName, counts(all), 0).state, 'degraded');
  all.blue = [0, 2]; // api = ((0 + 0.1) + 0.5) / 2 = 0.3 -> down below 50
  assert.equal(computeRegionSelfHealth(oneName, counts(all), 0).state, 'down');
  const noGtm: RegionHealthConfig = { routes: config.routes };
  const h = computeRegionSelfHealth(noGtm, counts({ blue: [3, 4], green: [1, 1], www: [3, 3], admin: [1, 2] }), 0);
  assert.equal(h.healthy, 0.8);
  assert.equal(h.state, 'up', '0.8 with the default thresholds (degraded below 75%)');
  assert.deepEqual(h.names, {});
});

test('grade: 0 is always down, boundaries are "below"', () => {
  const t = { degraded: 75, down: 25 };
  assert.equal(grade(0, t), 'down');
  assert.equal(grade(0.2499, t), 'down');
  assert.equal(grade(0.25, t), 'degraded');
  assert.equal(grade(0.75, t), 'up');
  assert.equal(grade(0.01, { degraded: 0, down: 0 }), 'up');
});
