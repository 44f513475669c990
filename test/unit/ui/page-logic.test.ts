/**
 * The page's pure modules (no DOM): the config diff and the traffic
 * arithmetic behind the routes view. They are browser ES modules in ui/, loaded
 * here by URL so TypeScript does not need declarations for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

const load = (path: string): Promise<any> => import(new URL(`../../../ui/js/${path}`, import.meta.url).href);

test('toLines renders a config the way operators write it', async () => {
  const { toLines } = await load('diff.js');
  assert.deepEqual(toLines({ node: { id: 'gw-1', region: 'jp' }, routes: [{ name: 'api', split: [{ cluster: 'blue', weight: 90 }] }], tags: [], note: 'a: b' }), [
    'node: { id: gw-1, region: jp }',
    'routes:',
    '  - name: api',
    '    split:',
    '      - { cluster: blue, weight: 90 }',
    'tags: []',
    'note: "a: b"',
  ]);
  assert.deepEqual(toLines({ v: '8080', t: 'true', s: '[redacted]', p: '/readyz' }), ['v: "8080"', 't: "true"', 's: "[redacted]"', 'p: /readyz'], 'strings that would read as numbers, booleans or lists are quoted');
});

test('diffLines finds the changed lines; withContext folds long unchanged runs', async () => {
  const { diffLines, withContext } = await load('diff.js');
  const a = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
  const b = ['a', 'b', 'c', 'd', 'E', 'f', 'g', 'h', 'i', 'j', 'k'];
  const d = diffLines(a, b);
  assert.deepEqual(d.filter((l: any) => l.op !== ' '), [{ op: '-', text: 'e' }, { op: '+', text: 'E' }, { op: '+', text: 'k' }]);
  assert.deepEqual(d.filter((l: any) => l.op !== '+').map((l: any) => l.text), a, 'old side intact');
  assert.deepEqual(d.filter((l: any) => l.op !== '-').map((l: any) => l.text), b, 'new side intact');
  const folded = withContext(diffLines(['x', ...a], ['x', ...a.slice(0, 9), 'J']), 2);
  assert.deepEqual(folded[0], { op: '…', count: 8 }, 'x and a..g folded');
  assert.deepEqual(folded.slice(1).map((l: any) => `${l.op}${l.text}`), [' h', ' i', '-j', '+J']);
  assert.deepEqual(diffLines(['same'], ['same']), [{ op: ' ', text: 'same' }]);
});

const samples = [
  { seq: 1, t: 0, routes: {} },
  { seq: 2, t: 2000, routes: { api: { blue: [8, 0], green: [2, 1] } } },
  { seq: 3, t: 4000, routes: { api: { blue: [0, 0], green: [0, 0], old: [5, 5] } } },
];

test('routeSeries: share of the route per cluster and error rate; nothing to divide is a gap, not a zero', async () => {
  const { routeClusters, routeSeries } = await load('traffic.js');
  const route = { name: 'api', split: [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }] };
  const clusters = routeClusters(route, samples);
  assert.deepEqual(clusters, ['blue', 'green', 'old'], 'split first, then clusters that still had traffic');
  const s = routeSeries(samples, 'api', clusters);
  assert.deepEqual(s.t, [0, 2, 4]);
  assert.deepEqual(s.share, [[null, 80, 0], [null, 20, 0], [null, 0, 100]]);
  assert.deepEqual(s.errors, [[null, 0, null], [null, 50, null], [null, null, 100]]);
});

test('recentTotals: the last minute of samples, per cluster', async () => {
  const { recentTotals } = await load('traffic.js');
  const r = recentTotals(samples, 'api', ['blue', 'green', 'old'], 2000);
  assert.equal(r.seconds, 6);
  assert.equal(r.total, 15);
  assert.deepEqual(r.clusters.map((c: any) => [c.cluster, c.requests, c.errors, c.share, c.errorRate]), [['blue', 8, 0, 100 * 8 / 15, 0], ['green', 2, 1, 100 * 2 / 15, 50], ['old', 5, 5, 100 * 5 / 15, 100]]);
  const later = recentTotals([...samples, { seq: 4, t: 64_000, routes: {} }], 'api', ['blue'], 2000);
  assert.equal(later.total, 0, 'samples older than a minute before the newest are left out');
  assert.equal(later.clusters[0].share, null);
});
