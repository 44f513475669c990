// Routes: each split's configured weights beside the measured share and error
// rate per cluster, as small charts over the traffic history the gateway keeps
// (so the charts have the last minutes on first load). Charts are created once
// per route and cluster set, then only fed new data.

import { h, badge, card, table, empty, replace } from '../dom.js';
import { pct, num, duration } from '../format.js';
import { lineChart, clusterStyle } from '../charts.js';
import { routeClusters, routeSeries, recentTotals } from '../traffic.js';

/** route name → { key, el, share, errors, stats } */
const cards = new Map();

export function renderRoutes(el, s, traffic, { goRelease }) {
  if (!el.querySelector(':scope > .view-head')) {
    el.replaceChildren(
      h('div', { class: 'view-head' }, h('h2', {}, 'Routes'), h('p', { class: 'sub', id: 'routes-sub' })),
      h('div', { class: 'route-list', id: 'route-list' }),
    );
  }
  el.querySelector('#routes-sub').textContent = traffic.samples.length
    ? `measured every ${duration(traffic.intervalMs)} · ${traffic.samples.length} samples (${duration(traffic.samples.length * traffic.intervalMs)}) · table: last minute`
    : `collecting: the first sample arrives within ${duration(traffic.intervalMs)}`;
  const list = el.querySelector('#route-list');
  if (s.routes.length === 0) {
    for (const c of cards.values()) destroy(c);
    cards.clear();
    replace(list, empty('No routes are configured.'));
    return;
  }
  const health = new Map(s.health.clusters.map((c) => [c.name, c]));
  const seen = new Set();
  const ordered = [];
  for (const route of s.routes) {
    const clusters = routeClusters(route, traffic.samples);
    const key = clusters.join('\0');
    let c = cards.get(route.name);
    if (c && c.key !== key) {
      destroy(c);
      c = undefined;
    }
    if (!c) {
      c = createCard(route, clusters, key);
      cards.set(route.name, c);
    }
    seen.add(route.name);
    updateCard(c, route, clusters, traffic, health, s, goRelease);
    ordered.push(c.el);
  }
  for (const [name, c] of cards) if (!seen.has(name)) (destroy(c), cards.delete(name));
  // Keep existing nodes (and their charts) in place; only reorder when needed.
  ordered.forEach((node, i) => {
    if (list.children[i] !== node) list.insertBefore(node, list.children[i] ?? null);
  });
  while (list.children.length > ordered.length) list.lastChild.remove();
}

function createCard(route, clusters, key) {
  const shareBox = h('div', { class: 'chart' });
  const errBox = h('div', { class: 'chart' });
  const el = h(
    'section',
    { class: 'card route', 'data-route': route.name },
    h('div', { class: 'route-head' }),
    h('div', { class: 'split-bar', 'aria-hidden': 'true' }),
    h('div', { class: 'route-stats' }),
    h('div', { class: 'charts' },
      h('figure', {}, h('figcaption', {}, 'Share of requests per cluster'), shareBox),
      h('figure', {}, h('figcaption', {}, 'Error rate (5xx) per cluster'), errBox),
    ),
  );
  // Charts need the element laid out to know their width: build them on the next frame.
  const c = { key, el, share: null, errors: null, pending: null };
  requestAnimationFrame(() => {
    c.share = lineChart(shareBox, { clusters, unit: '%', max: 100 });
    c.errors = lineChart(errBox, { clusters, unit: '%', floor: 5 });
    if (c.pending) feed(c, c.pending);
  });
  return c;
}

function feed(c, series) {
  if (!c.share) {
    c.pending = series;
    return;
  }
  c.share.setData([series.t, ...series.share]);
  c.errors.setData([series.t, ...series.errors]);
}

function destroy(c) {
  c.share?.destroy();
  c.errors?.destroy();
  c.el.remove();
}

function updateCard(c, route, clusters, traffic, health, s, goRelease) {
  const release = route.release ? s.releases?.find((r) => r.id === route.release) : null;
  replace(
    c.el.querySelector('.route-head'),
    h('h3', {}, route.name),
    h('span', { class: 'match mono' }, [route.hosts.length ? route.hosts.join(', ') : 'any host', route.path ? ` · ${route.path}` : ''].join('')),
    release
      ? h('button', { type: 'button', class: 'link', 'data-key': `rel-${route.name}`, onclick: () => goRelease(release.id) }, badge('info', `release ${release.id}: ${release.phase}${release.step.percent !== null ? ` at ${release.step.percent}%` : ''}`))
      : null,
  );
  const totalWeight = route.split.reduce((a, x) => a + x.weight, 0);
  replace(
    c.el.querySelector('.split-bar'),
    route.split.map((x, i) =>
      x.weight > 0 ? h('span', { class: 'split-seg', style: { width: `${totalWeight ? (100 * x.weight) / totalWeight : 0}%`, background: clusterStyle(i).stroke } }, h('span', {}, `${x.cluster} ${x.weight}`)) : null,
    ),
  );
  const recent = recentTotals(traffic.samples, route.name, clusters, traffic.intervalMs);
  const rows = recent.clusters.map((r, i) => {
    const w = route.split.find((x) => x.cluster === r.cluster);
    const hc = health.get(r.cluster);
    return h(
      'tr',
      { 'data-cluster': r.cluster },
      h('td', {}, h('span', { class: `swatch dash-${i % 7}`, style: { borderColor: clusterStyle(i).stroke }, 'aria-hidden': 'true' }), r.cluster),
      h('td', { class: 'num weight' }, w ? `${w.weight} (${pct(totalWeight ? (100 * w.weight) / totalWeight : 0, 0)})` : 'not in split'),
      h('td', { class: 'num share' }, pct(r.share)),
      h('td', { class: 'num' }, num(r.rps, 1)),
      h('td', { class: 'num errors' }, r.errorRate === null ? '—' : r.errorRate > 0 ? badge(r.errorRate >= 5 ? 'bad' : 'warn', pct(r.errorRate, 2)) : pct(0, 2)),
      h('td', { class: 'num requests' }, num(r.requests)),
      h('td', {}, hc ? `${hc.healthy}/${hc.total} healthy` : '—'),
    );
  });
  replace(c.el.querySelector('.route-stats'), table(['Cluster', 'Weight', 'Share', 'Req/s', '5xx rate', 'Requests', 'Endpoints'], rows, { class: 'route-table' }));
  feed(c, routeSeries(traffic.samples, route.name, clusters));
}
