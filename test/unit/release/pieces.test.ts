import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planSteps, splitAt, targetShare } from '../../../src/release/strategy.ts';
import { evaluateGates, type WindowMeasure } from '../../../src/release/gates.ts';
import { RegistryTrafficSource, delta, quantile } from '../../../src/release/traffic-stats.ts';
import { ejectionsSince } from '../../../src/release/target-health.ts';
import { canTransition } from '../../../src/release/model.ts';
import { redactUrl } from '../../../src/release/view.ts';
import { edgeMetrics } from '../../../src/metrics/edge.ts';
import { WeightedSplit } from '../../../src/edge/split.ts';

test('splitAt: exact with one old cluster, proportional with several, old weights only fall step by step', () => {
  const original = [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }];
  assert.deepEqual(splitAt(original, 'green', 25), [{ cluster: 'blue', weight: 75 }, { cluster: 'green', weight: 25 }]);
  assert.deepEqual(splitAt(original, 'green', 100), [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);
  assert.deepEqual(splitAt(original, 'green', 0), original);

  const three = [{ cluster: 'a', weight: 1 }, { cluster: 'b', weight: 1 }, { cluster: 'c', weight: 1 }, { cluster: 't', weight: 0 }];
  let prev = three.map((e) => ({ ...e, weight: e.weight * 1000 }));
  for (const p of [1, 5, 10, 33, 50, 67, 99, 100]) {
    const s = splitAt(three, 't', p);
    assert.equal(s.reduce((x, e) => x + e.weight, 0), 100);
    assert.ok(targetShare(s, 't') >= p && targetShare(s, 't') < p + 3, `target share at step ${p}: ${targetShare(s, 't')}`);
    const prevTotal = prev.reduce((x, e) => x + e.weight, 0);
    for (let i = 0; i < 3; i++) assert.ok(s[i]!.weight / 100 <= prev[i]!.weight / prevTotal + 1e-9, `cluster ${s[i]!.cluster} share never rises`);
    prev = s;
  }
  assert.deepEqual(planSteps([5, 10, 25, 50, 100], 10), { plan: [25, 50, 100], skipped: [5, 10] });
});

test('sticky clients only ever move from the old cluster to the target across canary steps (rendezvous hashing)', () => {
  const original = [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }];
  const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
  let onGreen = new Set<string>();
  for (const p of [5, 25, 50, 100]) {
    const split = splitAt(original, 'green', p);
    const ws = new WeightedSplit(split.map((e) => ({ cluster: e.cluster, name: e.cluster, weight: e.weight })));
    const now = new Set(keys.filter((k) => split[ws.pick(k)]!.cluster === 'green'));
    for (const k of onGreen) assert.ok(now.has(k), `${k} went back to blue at ${p}%`);
    assert.ok(now.size > onGreen.size);
    onGreen = now;
  }
  assert.equal(onGreen.size, keys.length);
});

test('quantile follows histogram_quantile: interpolates within the bucket, caps at the last finite bound', () => {
  const b = (counts: number[]) => [0.1, 0.5, 1, Infinity].map((le, i) => ({ le, count: counts[i]! }));
  assert.equal(quantile(0.99, b([0, 0, 0, 0])), null);
  assert.equal(quantile(0.5, b([100, 100, 100, 100])), 0.05);
  assert.ok(Math.abs(quantile(0.99, b([0, 100, 100, 100]))! - (0.1 + 0.4 * 0.99)) < 1e-9);
  assert.equal(quantile(0.99, b([0, 0, 0, 10])), 1, 'all above the last bound: that bound');
});

test('delta diffs cumulative counters and buckets over a window', () => {
  const base = { requests: 10, errors: 1, localFailures: 2, buckets: [{ le: 0.1, count: 10 }, { le: Infinity, count: 10 }] };
  const now = { requests: 110, errors: 6, localFailures: 2, buckets: [{ le: 0.1, count: 10 }, { le: Infinity, count: 110 }] };
  const d = delta(base, now);
  assert.deepEqual({ ...d, p99Ms: undefined }, { requests: 100, errors: 5, localFailures: 0, p99Ms: undefined });
  assert.equal(d.p99Ms, 100, 'every request of the window was above 100ms');
  assert.equal(ejectionsSince(new Map([['a', 1]]), new Map([['a', 3], ['b', 1]])), 3);
});

test('RegistryTrafficSource reads the proxy metrics of one route and cluster (5xx as errors) from the registry', async () => {
  const src = new RegistryTrafficSource();
  const base = await src.read('rs-api', 'rs-green');
  edgeMetrics.requests.labels('rs-api', 'rs-green', '200').inc(7);
  edgeMetrics.requests.labels('rs-api', 'rs-green', '503').inc(2);
  edgeMetrics.requests.labels('rs-api', 'rs-green', '404').inc(1);
  edgeMetrics.requests.labels('rs-api', 'rs-blue', '500').inc(5); // another cluster
  edgeMetrics.requests.labels('rs-other', 'rs-green', '500').inc(5); // another route
  edgeMetrics.upstreamErrors.labels('rs-green', 'connect-failure').inc(2);
  for (let i = 0; i < 10; i++) edgeMetrics.duration.labels('rs-api', 'rs-green').observe(i < 9 ? 0.02 : 0.7);
  const d = delta(base, await src.read('rs-api', 'rs-green'));
  assert.equal(d.requests, 10);
  assert.equal(d.errors, 2);
  assert.equal(d.localFailures, 2);
  assert.ok(d.p99Ms! > 500 && d.p99Ms! <= 1000, `p99 ${d.p99Ms}ms falls in the 0.5..1s bucket`);
});

test('gates: verdicts and their order', () => {
  const t = { maxErrorRate: 1, maxP99Ms: 500, maxEjections: 0, minRequests: 20 };
  const m = (o: Partial<WindowMeasure>): WindowMeasure => ({ elapsedMs: 1000, requests: 100, errors: 0, p99Ms: 50, ejections: 0, localFailures: 0, ready: true, healthy: 1, total: 1, readyDetail: '1/1 healthy', ...o });
  assert.equal(evaluateGates(m({}), t, false, '').verdict, 'pending');
  assert.equal(evaluateGates(m({}), t, true, '').verdict, 'pass');
  assert.equal(evaluateGates(m({ requests: 19 }), t, true, '').verdict, 'inconclusive');
  assert.equal(evaluateGates(m({ requests: 19, errors: 19 }), t, false, '').verdict, 'pending', 'no rate judged below minRequests');
  assert.equal(evaluateGates(m({ errors: 1 }), t, true, '').verdict, 'pass', 'exactly at the maximum passes');
  assert.equal(evaluateGates(m({ errors: 2 }), t, false, '').verdict, 'fail');
  assert.equal(evaluateGates(m({ p99Ms: 501 }), t, false, '').verdict, 'fail');
  assert.equal(evaluateGates(m({ requests: 0, ejections: 1 }), t, false, '').verdict, 'fail', 'ejections need no request minimum');
  assert.match(evaluateGates(m({ ready: false, ejections: 1 }), t, false, '').reason!, /^ejections/);
  assert.match(evaluateGates(m({ ready: false, healthy: 0 }), t, false, '').reason!, /^readiness/);
  const r = evaluateGates(m({ errors: 5 }), t, false, '');
  assert.deepEqual(r.gates.find((g) => g.gate === 'errorRate'), { gate: 'errorRate', value: 5, threshold: 1, ok: false });
});

test('state machine: terminal phases are final, a rollback cannot turn into a success', () => {
  assert.equal(canTransition('succeeded', 'progressing'), false);
  assert.equal(canTransition('rolling_back', 'succeeded'), false);
  assert.equal(canTransition('rolled_back', 'rolling_back'), false);
  assert.equal(canTransition('waiting', 'promoting'), false, 'readiness is never skipped');
  assert.equal(canTransition('progressing', 'rolling_back'), true);
});

test('webhook URLs are shown without their secrets', () => {
  assert.equal(redactUrl('https://u:p@hooks.example/x?token=abc'), 'https://[redacted]@hooks.example/x?[redacted]');
  assert.equal(redactUrl('http://127.0.0.1:8080/hook'), 'http://127.0.0.1:8080/hook');
});
