// The strip at the top: one line per area with what needs attention, each a
// link to its view. Also the page title, so a background tab shows trouble.

import { h, replace } from '../dom.js';
import { pct, num, timeAgo } from '../format.js';

export function renderSummary(el, s, traffic) {
  const items = [regions(s), endpoints(s), trafficItem(s, traffic), releases(s), config(s)];
  replace(el, items.map((it) => h('a', { class: `tile ${it.kind}`, href: it.href, 'data-tile': it.id }, h('span', { class: 'tile-label' }, it.label), h('span', { class: 'tile-value' }, it.value), h('span', { class: 'tile-detail' }, it.detail))));
  const trouble = items.filter((i) => i.kind === 'bad' || i.kind === 'warn').length;
  document.title = `${trouble ? `⚠ ${trouble} · ` : ''}edgeplane · ${s.node.id}`;
}

function regions(s) {
  const list = s.fleet?.regions ?? [];
  if (list.length === 0) return { id: 'regions', href: '#fleet', label: 'Regions', value: s.fleet ? 'none reported' : 'no gossip', detail: `this gateway: ${s.node.region}`, kind: 'muted' };
  const down = list.filter((r) => r.state === 'down').length;
  const degraded = list.filter((r) => r.state === 'degraded').length;
  const up = list.filter((r) => r.state === 'up').length;
  const alive = s.fleet.members.filter((m) => m.state === 'alive').length;
  return {
    id: 'regions',
    href: '#fleet',
    label: 'Regions',
    value: `${up}/${list.length} up`,
    // Regions that are not up first: that is what the tile is for.
    detail: [...list.filter((r) => r.state !== 'up').map((r) => `${r.region} ${r.state}`), `${alive}/${s.fleet.members.length} gateways alive`].join(' · '),
    kind: down ? 'bad' : degraded || alive < s.fleet.members.length ? 'warn' : 'ok',
  };
}

function endpoints(s) {
  let healthy = 0;
  let total = 0;
  let ejected = 0;
  let unhealthy = 0;
  for (const c of s.health.clusters) {
    for (const e of c.endpoints) {
      if (e.state === 'draining') continue;
      total++;
      if (e.state === 'healthy') healthy++;
      else if (e.state === 'ejected') ejected++;
      else unhealthy++;
    }
  }
  const unavailable = s.health.clusters.filter((c) => !c.available).map((c) => c.name);
  const detail = [unhealthy ? `${unhealthy} unhealthy` : null, ejected ? `${ejected} ejected` : null, unavailable.length ? `no healthy endpoint: ${unavailable.join(', ')}` : null].filter(Boolean).join(' · ') || `${s.health.clusters.length} clusters`;
  return { id: 'endpoints', href: '#endpoints', label: 'Endpoints', value: `${healthy}/${total} healthy`, detail, kind: unavailable.length ? 'bad' : healthy < total ? 'warn' : 'ok' };
}

function trafficItem(s, traffic) {
  const last = traffic.samples.at(-1);
  if (!last) return { id: 'traffic', href: '#routes', label: 'Traffic', value: '—', detail: 'collecting the first sample', kind: 'muted' };
  const recent = traffic.samples.filter((x) => x.t > last.t - 60_000);
  let req = 0;
  let err = 0;
  for (const x of recent) for (const clusters of Object.values(x.routes)) for (const [q, e] of Object.values(clusters)) (req += q, err += e);
  const seconds = (recent.length * traffic.intervalMs) / 1000;
  const rate = req > 0 ? (100 * err) / req : null;
  return { id: 'traffic', href: '#routes', label: 'Traffic (1 min)', value: `${num(req / seconds, 1)} req/s`, detail: `5xx ${pct(rate, 2)} · ${s.routes.length} routes`, kind: rate !== null && rate >= 5 ? 'bad' : rate ? 'warn' : 'ok' };
}

function releases(s) {
  if (s.releases === null) return { id: 'releases', href: '#releases', label: 'Releases', value: '—', detail: 'no release controller', kind: 'muted' };
  const running = s.releases.filter((r) => ['waiting', 'progressing', 'paused', 'promoting', 'rolling_back'].includes(r.phase));
  if (running.length === 0) {
    const last = s.releases[0];
    return { id: 'releases', href: '#releases', label: 'Releases', value: 'none running', detail: last ? `last: ${last.id} ${last.phase.replace('_', ' ')}` : 'none yet', kind: 'muted' };
  }
  const r = running[0];
  const trouble = running.some((x) => x.phase === 'rolling_back' || x.readings?.verdict === 'fail');
  return {
    id: 'releases',
    href: '#releases',
    label: 'Releases',
    value: `${running.length} running`,
    detail: `${r.route} → ${r.target}${r.step.percent !== null ? ` ${r.step.percent}%` : ''} · ${r.phase.replace('_', ' ')}`,
    kind: trouble ? 'warn' : 'info',
  };
}

function config(s) {
  const head = s.config.history.find((v) => v.version === s.config.version);
  return { id: 'config', href: '#config', label: 'Config', value: `v${s.config.version}`, detail: head ? [`${head.author}, `, timeAgo(h, head.at)] : '', kind: 'muted' };
}

