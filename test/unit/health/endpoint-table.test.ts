import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { ManualClock } from '../../../src/util/clock.ts';
import { seededRng } from '../../../src/util/rng.ts';
import { EndpointTable } from '../../../src/health/endpoint-table.ts';
import type { ProbeResult } from '../../../src/health/active-checker.ts';
import type { ClusterConfig } from '../../../src/config/schema/index.ts';
import type { DiscoveryListener, DiscoverySource, DiscoveryStatus } from '../../../src/discovery/types.ts';
import type { Endpoint } from '../../../src/health/types.ts';
import { registry } from '../../../src/metrics/registry.ts';
import { HealthOptionsError } from '../../../src/health/errors.ts';

/** Probes answering per address from a map the test edits; unanswered addresses pass. */
function probes() {
  const answers = new Map<string, ProbeResult>();
  let calls = 0;
  return {
    answers,
    get calls() {
      return calls;
    },
    factory: () => ({
      probe: async (t: { address: string }) => {
        calls++;
        return answers.get(t.address) ?? { ok: true, detail: 'status 200' };
      },
      close: async () => {},
    }),
  };
}

function table(p = probes(), extra: { createSource?: (c: ClusterConfig) => DiscoverySource } = {}) {
  const clock = new ManualClock();
  const t = new EndpointTable({ clock, rng: seededRng(5), probeFactory: p.factory, ...extra });
  const changes: string[] = [];
  const removed: string[] = [];
  t.onChange((c) => changes.push(c));
  t.onRemoved((eps) => removed.push(...eps.map((e) => e.address)));
  return { t, clock, p, changes, removed };
}

const addrs = (eps: readonly Endpoint[] | undefined) => (eps ?? []).map((e) => e.address);

async function settle(clock: ManualClock, ms = 0) {
  clock.advance(ms);
  for (let i = 0; i < 3; i++) await tick();
  clock.advance(0);
}

test('static endpoints without checks are all healthy and kept (same objects) across updates', () => {
  const { t } = table();
  t.update([{ name: 'a', endpoints: ['127.0.0.1:1', '127.0.0.1:2'] }]);
  const target = t.cluster('a')!;
  assert.deepEqual(addrs(target.endpoints), ['127.0.0.1:1', '127.0.0.1:2']);
  assert.equal(target.available, true);
  assert.equal(target.panic, false);
  const first = target.endpoints[0]!;
  first.active = 3;
  const removed = t.update([{ name: 'a', endpoints: ['127.0.0.1:1', '127.0.0.1:3'] }]);
  assert.deepEqual(addrs(removed), ['127.0.0.1:2']);
  assert.equal(t.cluster('a')!.endpoints[0], first, 'endpoint object kept: in-flight counter survives');
  assert.equal(t.cluster('a')!.endpoints[0]!.active, 3);
  assert.equal(t.cluster('b'), undefined);
});

test('consecutive 5xx reported by the edge eject an endpoint; metrics, report and change events follow', async () => {
  const { t, clock, changes } = table();
  t.update([{ name: 'ej', endpoints: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'], outlierDetection: { consecutive5xx: 5, maxEjectionPercent: 50, baseEjectionTime: '30s' } }]);
  const [bad] = t.cluster('ej')!.endpoints;
  changes.length = 0;
  for (let i = 0; i < 5; i++) t.report(bad!, 'http-5xx', 500);
  assert.equal(t.cluster('ej')!.endpoints.length, 3, 'report() itself only counts');
  await settle(clock);
  assert.deepEqual(addrs(t.cluster('ej')!.endpoints), ['127.0.0.1:2', '127.0.0.1:3']);
  assert.deepEqual(changes, ['ej']);
  const ep = t.healthReport().clusters.find((c) => c.name === 'ej')!.endpoints.find((e) => e.address === '127.0.0.1:1')!;
  assert.equal(ep.state, 'ejected');
  assert.equal(ep.reason, 'consecutive-5xx');
  assert.equal(ep.ejections, 1);
  assert.equal(new Date(ep.ejection!.until).getTime() - new Date(ep.ejection!.since).getTime(), 30_000);
  const metrics = await registry.metrics();
  assert.match(metrics, /edgeplane_outlier_ejections_total\{cluster="ej",reason="consecutive-5xx"\} 1/);
  assert.match(metrics, /edgeplane_endpoint_healthy\{cluster="ej",endpoint="127.0.0.1:1"\} 0/);
  assert.match(metrics, /edgeplane_endpoint_healthy\{cluster="ej",endpoint="127.0.0.1:2"\} 1/);
  await settle(clock, 30_000);
  assert.equal(t.cluster('ej')!.endpoints.length, 3, 'back after the ejection time');
  t.close();
});

test('a passing active check ends an ejection early (Envoy: successful_active_health_check_uneject_host)', async () => {
  const { t, clock } = table();
  t.update([{ name: 'un', endpoints: ['127.0.0.1:1', '127.0.0.1:2'], healthCheck: { interval: '5s', jitter: '0s' }, outlierDetection: { consecutive5xx: 2, maxEjectionPercent: 50 } }]);
  await settle(clock);
  assert.equal(t.cluster('un')!.endpoints.length, 2, 'first checks passed');
  const bad = t.cluster('un')!.endpoints[0]!;
  t.report(bad, 'gateway-error', 502);
  t.report(bad, 'gateway-error', 502);
  await settle(clock);
  assert.equal(t.cluster('un')!.endpoints.length, 1);
  await settle(clock, 5000); // next active check passes
  assert.equal(t.cluster('un')!.endpoints.length, 2);
  const rep = t.healthReport().clusters[0]!.endpoints[0]!;
  assert.equal(rep.state, 'healthy');
  assert.equal(rep.ejection, null);
  t.close();
});

test('panic mode below the threshold, unavailable when nothing is healthy', async () => {
  const p = probes();
  const { t, clock } = table(p);
  t.update([{ name: 'pn', endpoints: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'], healthCheck: { interval: '1s', noTrafficInterval: '1s', jitter: '0s', unhealthyThreshold: 1 } }]);
  const target = () => t.cluster('pn')!;
  assert.equal(target().available, false, 'pending before the first check');
  assert.equal(target().panic, true);
  assert.equal(target().endpoints.length, 3, 'panic: all endpoints while nothing is known');
  await settle(clock);
  assert.equal(target().panic, false);
  p.answers.set('127.0.0.1:1', { ok: false, detail: 'status 503' });
  await settle(clock, 1000);
  assert.deepEqual(addrs(target().endpoints), ['127.0.0.1:2', '127.0.0.1:3'], '2 of 3 healthy: no panic');
  p.answers.set('127.0.0.1:2', { ok: false, detail: 'status 503' });
  await settle(clock, 1000);
  assert.equal(target().panic, true, '1 of 3 < 50%');
  assert.equal(target().available, true);
  assert.equal(target().endpoints.length, 3);
  p.answers.set('127.0.0.1:3', { ok: false, detail: 'connect ECONNREFUSED' });
  await settle(clock, 1000);
  assert.equal(target().available, false);
  assert.equal(target().panic, true);
  const rep = t.healthReport().clusters[0]!;
  assert.equal(rep.healthy, 0);
  assert.equal(rep.endpoints[2]!.state, 'unhealthy');
  assert.equal(rep.endpoints[2]!.reason, 'active check failed: connect ECONNREFUSED');
  assert.equal(rep.endpoints[2]!.active.lastResult, 'connect ECONNREFUSED');
  t.close();
});

test('removed endpoints drain: reported until their last request ends, then forgotten', async () => {
  const { t, clock, removed } = table();
  t.update([{ name: 'dr', endpoints: ['127.0.0.1:1', '127.0.0.1:2'] }]);
  const leaving = t.cluster('dr')!.endpoints[1]!;
  leaving.active = 1;
  t.update([{ name: 'dr', endpoints: ['127.0.0.1:1'] }]);
  assert.deepEqual(removed, ['127.0.0.1:2']);
  const states = () => t.healthReport().clusters[0]!.endpoints.map((e) => `${e.address} ${e.state}`);
  assert.deepEqual(states(), ['127.0.0.1:1 healthy', '127.0.0.1:2 draining']);
  t.report(leaving, 'http-5xx', 500); // late outcome of the in-flight request: ignored
  await settle(clock, 1000);
  assert.deepEqual(states(), ['127.0.0.1:1 healthy', '127.0.0.1:2 draining']);
  leaving.active = 0;
  await settle(clock, 1000);
  assert.deepEqual(states(), ['127.0.0.1:1 healthy']);
  t.close();
});

test('circuit breaker limits come from the cluster config and survive a reload', () => {
  const { t } = table();
  t.update([{ name: 'br', endpoints: ['127.0.0.1:1'], circuitBreaker: { maxRequests: 1 } }]);
  const b = t.breaker('br')!;
  assert.equal(b.tryAcquire('request'), null);
  assert.equal(b.tryAcquire('request'), 'maxRequests');
  t.update([{ name: 'br', endpoints: ['127.0.0.1:1'], circuitBreaker: { maxRequests: 2 } }]);
  assert.equal(t.breaker('br'), b, 'same breaker: counts in flight kept');
  assert.equal(b.tryAcquire('request'), null);
  assert.equal(b.tryAcquire('request'), 'maxRequests');
  assert.equal(t.breaker('nope'), undefined);
  assert.equal(t.breaker('br')!.tryAcquire('retry'), null, 'Envoy default maxRetries 3');
});

test('invalid health options throw before anything changes', () => {
  const { t } = table();
  t.update([{ name: 'ok', endpoints: ['127.0.0.1:1'] }]);
  assert.throws(
    () => t.update([{ name: 'ok', endpoints: ['127.0.0.1:9'] }, { name: 'bad', endpoints: ['127.0.0.1:2'], outlierDetection: { baseEjectionTime: '60s', maxEjectionTime: '10s' } }]),
    HealthOptionsError,
  );
  assert.deepEqual(addrs(t.cluster('ok')!.endpoints), ['127.0.0.1:1']);
  assert.equal(t.cluster('bad'), undefined);
});

test('a failing discovery source keeps the last set and the report says so', () => {
  let listener: DiscoveryListener | undefined;
  let status: DiscoveryStatus = { ok: true, delivered: false, error: null, lastSuccessAt: null, lastErrorAt: null, consecutiveFailures: 0 };
  const source: DiscoverySource = {
    kind: 'dns',
    start: (l) => (listener = l),
    stop: () => {},
    status: () => status,
  };
  const { t } = table(probes(), { createSource: () => source });
  t.update([{ name: 'ds', discovery: { dns: { name: 'api.example', port: 80 } } }]);
  assert.equal(t.cluster('ds')!.available, false, 'nothing discovered yet');
  listener!.endpoints(['10.0.0.1:80', '10.0.0.2:80']);
  status = { ...status, delivered: true, lastSuccessAt: 1_700_000_000_000 };
  assert.equal(t.cluster('ds')!.endpoints.length, 2);
  status = { ...status, ok: false, error: 'DNS query timed out', lastErrorAt: 1_700_000_005_000, consecutiveFailures: 2 };
  const rep = t.healthReport().clusters[0]!;
  assert.equal(t.cluster('ds')!.endpoints.length, 2, 'last known set still used');
  assert.deepEqual(rep.discovery, {
    source: 'dns',
    ok: false,
    stale: true,
    error: 'DNS query timed out',
    lastSuccessAt: new Date(1_700_000_000_000).toISOString(),
    lastErrorAt: new Date(1_700_000_005_000).toISOString(),
    consecutiveFailures: 2,
  });
});

test('a cluster that carries its first request moves idle healthy endpoints to the normal interval', async () => {
  const p = probes();
  const { t, clock } = table(p);
  t.update([{ name: 'nt', endpoints: ['127.0.0.1:1'], healthCheck: { interval: '1s', noTrafficInterval: '60s', jitter: '0s' } }]);
  await settle(clock);
  const after1 = p.calls;
  await settle(clock, 5000);
  assert.equal(p.calls, after1, 'no traffic: waiting for the 60s interval');
  t.report(t.cluster('nt')!.endpoints[0]!, 'success', 200);
  await settle(clock, 1000);
  assert.equal(p.calls, after1 + 1);
  t.close();
});

test('removing a cluster hands its endpoints over and stops its timers', async () => {
  const { t, clock, removed, changes } = table();
  t.update([{ name: 'gone', endpoints: ['127.0.0.1:1'], healthCheck: { interval: '1s' }, outlierDetection: {} }]);
  changes.length = 0;
  const out = t.update([]);
  assert.deepEqual(addrs(out), ['127.0.0.1:1']);
  assert.deepEqual(removed, ['127.0.0.1:1']);
  assert.deepEqual(changes, ['gone']);
  assert.equal(t.cluster('gone'), undefined);
  await settle(clock, 120_000);
  assert.equal(clock.pending, 0);
});

test('an unreadable CA for checks rejects the whole update; a source that cannot start is reported, not fatal', () => {
  const { t } = table(probes(), {
    createSource: (c) => {
      if (c.name === 'nosrc') throw new Error('no DNS resolvers configured and none found in the system configuration');
      return { kind: 'static', start: (l) => l.endpoints(c.endpoints ?? []), stop: () => {}, status: () => ({ ok: true, delivered: true, error: null, lastSuccessAt: null, lastErrorAt: null, consecutiveFailures: 0 }) };
    },
  });
  t.update([{ name: 'keep', endpoints: ['127.0.0.1:1'] }]);
  assert.throws(
    () => t.update([{ name: 'keep', endpoints: ['127.0.0.1:2'] }, { name: 'tls', endpoints: ['127.0.0.1:3'], tls: { ca: '/nonexistent/ca.pem' }, healthCheck: {} }]),
    (err: unknown) => err instanceof HealthOptionsError && /cannot read tls.ca/.test(err.message),
  );
  assert.deepEqual(addrs(t.cluster('keep')!.endpoints), ['127.0.0.1:1'], 'nothing applied');
  t.update([{ name: 'keep', endpoints: ['127.0.0.1:1'] }, { name: 'nosrc', discovery: { dns: { name: 'x.example', port: 80 } } }]);
  const rep = t.healthReport().clusters.find((c) => c.name === 'nosrc')!;
  assert.equal(rep.discovery.ok, false);
  assert.equal(rep.discovery.source, 'dns');
  assert.match(rep.discovery.error!, /no DNS resolvers/);
  assert.equal(t.cluster('nosrc')!.available, false);
  t.close();
});
