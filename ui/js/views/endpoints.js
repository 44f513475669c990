// Endpoints: per cluster, each endpoint's state with the reason and since when,
// the active check, ejections, and the cluster's breaker and discovery status.

import { h, badge, card, table, empty, replace } from '../dom.js';
import { timeAgo } from '../format.js';

const STATE = { healthy: ['ok', 'healthy'], unhealthy: ['bad', 'unhealthy'], ejected: ['warn', 'ejected'], draining: ['muted', 'draining'] };
const CHECK = { healthy: 'passing', unhealthy: 'failing', pending: 'pending', disabled: 'no active check' };

export function endpointBadge(state) {
  const [kind, label] = STATE[state] ?? ['muted', state];
  return badge(kind, label, kind === 'warn' ? '⏏' : undefined);
}

export function renderEndpoints(el, s) {
  const clusters = s.health.clusters;
  replace(
    el,
    h('div', { class: 'view-head' }, h('h2', {}, 'Endpoints'), h('p', { class: 'sub' }, `health as of `, timeAgo(h, s.health.generatedAt))),
    clusters.length ? clusters.map(clusterCard) : empty('No clusters are configured.'),
  );
}

function clusterCard(c) {
  const flags = [
    c.available ? badge(c.healthy === c.total ? 'ok' : 'warn', `${c.healthy}/${c.total} healthy`) : badge('bad', `no healthy endpoint (${c.healthy}/${c.total})`),
    c.panic ? badge('warn', `panic mode: below ${c.panicThreshold}% healthy, balancing over all`) : null,
    c.discovery.ok ? null : badge('bad', `discovery (${c.discovery.source}) failing${c.discovery.stale ? ', endpoints may be stale' : ''}: ${c.discovery.error ?? ''}`),
  ];
  const cb = c.circuitBreaker;
  const breaker = ['maxRequests', 'maxPendingRequests', 'maxConnections', 'maxRetries']
    .filter((k) => cb[k])
    .map((k) => `${k.replace(/^max/, '').replace(/([A-Z])/g, ' $1').trim().toLowerCase()} ${cb[k].current}/${cb[k].limit}${cb[k].overflows ? ` (${cb[k].overflows} over)` : ''}`)
    .join(' · ');
  const rows = c.endpoints.map((e) =>
    h(
      'tr',
      { 'data-endpoint': e.address, 'data-state': e.state },
      h('td', { class: 'mono' }, e.address),
      h('td', { class: 'ep-state' }, endpointBadge(e.state)),
      h('td', { class: 'ep-reason' }, e.reason || '—'),
      h('td', {}, timeAgo(h, e.since)),
      h('td', {}, CHECK[e.active.state] ?? e.active.state, e.active.lastResult ? h('span', { class: 'dim' }, ` · ${e.active.lastResult}`) : null),
      h('td', {}, e.ejection ? ['ends ', timeAgo(h, e.ejection.until)] : e.ejections ? `${e.ejections} before` : '—'),
      h('td', { class: 'num' }, String(e.inFlight)),
    ),
  );
  return h(
    'section',
    { class: 'card', 'data-cluster': c.name },
    h('div', { class: 'card-head' }, h('h3', {}, c.name), ...flags),
    table(['Endpoint', 'State', 'Reason', 'Since', 'Active check', 'Ejection', 'In flight'], rows, { class: 'endpoints' }),
    h('p', { class: 'hint' }, `discovery: ${c.discovery.source} · circuit breaker: ${breaker || '—'}`),
  );
}
