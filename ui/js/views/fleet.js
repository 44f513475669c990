// Fleet: regions (state and health), effective DNS weights per GTM name, and
// the gossip members with their state and when each was last heard from.

import { h, badge, card, table, empty, replace } from '../dom.js';
import { pct, duration, num } from '../format.js';

export const REGION_BADGE = { up: ['ok', 'up'], degraded: ['warn', 'degraded'], down: ['bad', 'down'], unknown: ['muted', 'unknown'] };
const MEMBER_BADGE = { alive: ['ok', 'alive'], suspect: ['warn', 'suspect'], dead: ['bad', 'dead'], left: ['muted', 'left'] };

export function regionBadge(state) {
  const [kind, label] = REGION_BADGE[state] ?? ['muted', state];
  return badge(kind, label);
}

export function renderFleet(el, s) {
  const fleet = s.fleet;
  const dns = s.dns;
  replace(
    el,
    h('div', { class: 'view-head' }, h('h2', {}, 'Fleet'), h('p', { class: 'sub' }, fleet ? `gossip: ${fleet.self.members} members seen by ${fleet.self.name} (${fleet.self.region}); Lifeguard awareness ${fleet.self.healthScore} (0 is healthy)` : 'gossip is not configured on this gateway (no `gossip:` section)')),
    regionsCard(s),
    dnsCard(dns),
    membersCard(fleet),
  );
}

function regionsCard(s) {
  const regions = s.fleet?.regions ?? [];
  if (regions.length === 0) return card('Regions', empty(s.fleet ? 'No region has reported yet.' : 'Region states come from gossip; without it this gateway only knows its own region.'));
  return card(
    'Regions',
    h(
      'div',
      { class: 'region-grid' },
      regions.map((r) =>
        h(
          'article',
          { class: `region state-${r.state}`, 'data-region': r.region, 'aria-label': `region ${r.region}` },
          h('div', { class: 'region-top' }, h('strong', { class: 'region-name' }, r.region), regionBadge(r.state)),
          h('div', { class: 'meter', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(r.health * 100)), 'aria-label': `health of ${r.region}` }, h('span', { style: { width: `${Math.round(r.health * 100)}%` } })),
          h('dl', { class: 'kv' },
            h('dt', {}, 'health'), h('dd', { class: 'region-health' }, pct(r.health * 100, 0)),
            h('dt', {}, 'gateways'), h('dd', { class: 'region-gateways' }, `${r.gateways.alive} alive / ${r.gateways.total}`),
            r.gateways.suspect ? [h('dt', {}, 'suspect'), h('dd', {}, String(r.gateways.suspect))] : null,
            r.gateways.dead ? [h('dt', {}, 'dead'), h('dd', {}, String(r.gateways.dead))] : null,
            h('dt', {}, 'reporting'), h('dd', {}, String(r.gateways.reporting)),
            s.node.region === r.region ? [h('dt', {}, 'this gateway'), h('dd', {}, s.node.id)] : null,
          ),
        ),
      ),
    ),
  );
}

function dnsCard(dns) {
  if (!dns) return card('DNS weights', empty('The DNS responder is not configured on this gateway (no `dns:` section).'));
  if (dns.length === 0) return card('DNS weights', empty('No GTM names in the zones.'));
  return card(
    'Effective DNS weights',
    h('p', { class: 'hint' }, 'Configured weight × region health. The bar is the share of the total weight each region gets; the outline is its configured share.'),
    dns.map((g) => {
      const totalEff = g.regions.reduce((a, r) => a + r.effectiveWeight, 0);
      const totalCfg = g.regions.reduce((a, r) => a + r.configuredWeight, 0);
      return h(
        'div',
        { class: 'gtm', 'data-gtm': g.name },
        h('div', { class: 'gtm-head' }, h('strong', {}, g.name), g.failOpen ? badge('warn', 'fail-open: every region down, answering all') : null),
        g.regions.map((r) => {
          const share = totalEff > 0 ? (100 * r.effectiveWeight) / totalEff : 0;
          const cfgShare = totalCfg > 0 ? (100 * r.configuredWeight) / totalCfg : 0;
          return h(
            'div',
            { class: 'wbar', 'data-region': r.region, 'data-effective': String(r.effectiveWeight), 'data-configured': String(r.configuredWeight) },
            h('span', { class: 'wbar-label' }, r.region),
            h('span', { class: 'wbar-track', 'aria-hidden': 'true' },
              h('span', { class: `wbar-fill state-${r.state}`, style: { width: `${share}%` } }),
              h('span', { class: 'wbar-cfg', style: { width: `${cfgShare}%` } }),
            ),
            h('span', { class: 'wbar-text' }, `${num(r.effectiveWeight, r.effectiveWeight % 1 ? 1 : 0)} of ${num(r.configuredWeight)} · ${pct(share, 0)}`),
            regionBadge(r.state),
          );
        }),
      );
    }),
  );
}

function membersCard(fleet) {
  if (!fleet) return card('Members', empty('No gossip members: this gateway runs alone.'));
  const rows = fleet.members.map((m) => {
    const [kind, label] = MEMBER_BADGE[m.state] ?? ['muted', m.state];
    return h(
      'tr',
      { 'data-member': m.name },
      h('td', {}, h('strong', {}, m.name), m.self ? h('span', { class: 'tag' }, 'this gateway') : null),
      h('td', {}, m.region),
      h('td', { class: 'mono' }, m.address),
      h('td', { class: 'member-state' }, badge(kind, label)),
      h('td', { class: 'num' }, String(m.incarnation)),
      h('td', { class: 'last-heard' }, m.self ? 'self' : m.lastHeardMs === null ? 'not first-hand' : `${duration(m.lastHeardMs)} ago`),
      h('td', {}, m.health ? regionBadge(m.health.state) : '—', m.health ? h('span', { class: 'dim' }, ` ${pct(m.health.healthy * 100, 0)}`) : null),
      h('td', { class: 'dim' }, `${duration(m.stateAgeMs)}`),
    );
  });
  return card('Members', table(['Member', 'Region', 'Address', 'State', 'Inc.', 'Last heard', 'Reports', 'In state for'], rows, { class: 'members' }));
}
