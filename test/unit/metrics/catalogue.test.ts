import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { METRICS, METRIC_LIST, DEFAULT_METRICS_PREFIX } from '../../../src/metrics/catalogue.ts';
import { registry } from '../../../src/metrics/registry.ts';
import { newStats, registerMetricsSource, retireMetricsSource } from '../../../src/gossip/metrics.ts';
import { registerWorkerMetrics } from '../../../src/cluster/worker-metrics.ts';
import { METRIC_NAMES } from '../../../src/release/traffic-stats.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** Entry points that start a process when imported. */
const ENTRY_POINTS = new Set(['src/cli.ts', 'src/cluster/worker-main.ts', 'src/gossip/standalone.ts']);
/** Words in the docs that look like metric names and are not (keepalived's instance name). */
const NOT_METRICS = new Set(['edgeplane_vip']);
/** Node's default process metrics (collectDefaultMetrics) are prom-client's, not the catalogue's. */
const isDefaultMetric = (name: string) => /^edgeplane_(process|nodejs)_/.test(name) || name === `${DEFAULT_METRICS_PREFIX}version_info`;

function files(dir: string, test: (f: string) => boolean): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    return e.isDirectory() ? files(rel, test) : test(rel) ? [rel] : [];
  });
}

const byName = new Map(METRIC_LIST.map((m) => [m.name, m]));
const metricNamesIn = (text: string) => [...text.matchAll(/\bedgeplane_[a-z0-9_]+/g)].map((m) => m[0]);
/** A histogram's series names map back to the histogram. */
function baseName(name: string): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && byName.get(base)?.type === 'histogram') return base;
  }
  return name;
}

test('the catalogue has one entry per name', () => {
  assert.equal(byName.size, METRIC_LIST.length);
  for (const m of METRIC_LIST) assert.match(m.name, /^edgeplane_[a-z0-9_]+$/);
});

test('every metric the code registers is in the catalogue with the same type, help and labels, and every entry is registered', async () => {
  for (const f of files('src', (f) => f.endsWith('.ts') && !ENTRY_POINTS.has(f))) await import(join(root, f));
  // Declared lazily: gossip metrics with the first agent, worker metrics in a worker.
  const source = { stats: newStats(), awarenessScore: () => 0, memberCounts: () => ({ alive: 1, suspect: 0, dead: 0, left: 0 }) };
  registerMetricsSource(source as unknown as Parameters<typeof registerMetricsSource>[0]);
  retireMetricsSource(source as unknown as Parameters<typeof retireMetricsSource>[0]);
  registerWorkerMetrics(1, () => 1);

  const registered = registry.getMetricsAsArray().filter((m) => !isDefaultMetric(m.name));
  const seen = new Set<string>();
  for (const m of registered) {
    const spec = byName.get(m.name);
    assert.ok(spec, `${m.name} is registered but not in src/metrics/catalogue.ts`);
    const raw = m as unknown as { type?: string; help: string; labelNames?: string[] };
    assert.equal(raw.type ?? spec.type, spec.type, `${m.name}: type`);
    assert.equal(raw.help, spec.help, `${m.name}: help`);
    assert.deepEqual([...(raw.labelNames ?? [])], [...spec.labels], `${m.name}: labels`);
    seen.add(m.name);
  }
  assert.deepEqual(METRIC_LIST.map((m) => m.name).filter((n) => !seen.has(n)), [], 'catalogue entries nothing registers');
});

test('the docs name every metric in the catalogue, and only those', () => {
  const docs = [...files('docs', (f) => f.endsWith('.md')), 'README.md'];
  const documented = new Map<string, string>();
  for (const f of docs) for (const n of metricNamesIn(readFileSync(join(root, f), 'utf8'))) documented.set(baseName(n), f);
  const unknown = [...documented].filter(([n]) => !byName.has(n) && !NOT_METRICS.has(n) && !isDefaultMetric(n)).map(([n, f]) => `${n} (${f})`);
  assert.deepEqual(unknown, [], 'documented metrics the code does not export');
  assert.deepEqual(METRIC_LIST.map((m) => m.name).filter((n) => !documented.has(n)), [], 'exported metrics no doc mentions');
});

test('the release gates and the dashboard read metrics the catalogue declares', () => {
  for (const name of Object.values(METRIC_NAMES)) assert.ok(byName.has(name), `release gates read ${name}`);
  assert.equal(METRIC_NAMES.requests, METRICS.requestsTotal.name);
  const dashboard = [...files('ui', (f) => /\.(js|html)$/.test(f)), ...files('src/admin/ui', (f) => f.endsWith('.ts'))];
  for (const f of dashboard) {
    for (const n of metricNamesIn(readFileSync(join(root, f), 'utf8'))) assert.ok(byName.has(baseName(n)), `${relative(root, join(root, f))} reads ${n}, which is not in the catalogue`);
  }
});

test('no module spells a metric name itself: names come from the catalogue', () => {
  const literal = /(['"])edgeplane_[a-z0-9_]+\1/g;
  const offenders = files('src', (f) => f.endsWith('.ts') && f !== 'src/metrics/catalogue.ts').flatMap((f) =>
    [...readFileSync(join(root, f), 'utf8').matchAll(literal)].map((m) => `${f}: ${m[0]}`),
  );
  assert.deepEqual(offenders, []);
});
