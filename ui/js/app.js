// Boot: ask for the token when needed, open the event stream, keep the state,
// and render the view the URL hash names (#fleet, #routes, #endpoints,
// #releases, #config). Views re-render only when their part of the state changed.

import { api, token } from './api.js';
import { openStream } from './stream.js';
import { ago, connectionLabel } from './format.js';
import { renderSummary } from './views/summary.js';
import { renderFleet } from './views/fleet.js';
import { renderRoutes } from './views/routes.js';
import { renderEndpoints } from './views/endpoints.js';
import { renderReleases } from './views/releases.js';
import { renderConfig } from './views/config.js';

const $ = (id) => document.getElementById(id);
const VIEWS = ['fleet', 'routes', 'endpoints', 'releases', 'config'];

let state = null;
let traffic = { intervalMs: 2000, capacity: 300, samples: [] };
let stop = null;
/** What each view last rendered, to skip identical re-renders (they would reset scroll in tables and focus in selects). */
const rendered = new Map();
let frame = 0;

const ctx = {
  refresh: () => void refresh(),
  notify,
  rerender: (name) => {
    rendered.delete(name);
    schedule();
  },
  goRelease: (id) => {
    location.hash = '#releases';
    requestAnimationFrame(() => document.getElementById(`release-${id}`)?.scrollIntoView({ block: 'start' }));
  },
};

/** Each view's slice of the state: a view re-renders when its slice (as JSON) changes. */
const slices = {
  fleet: (s) => [s.fleet, s.dns, s.node],
  routes: (s) => [s.routes, s.health.clusters.map((c) => [c.name, c.healthy, c.total]), s.releases?.map((r) => [r.id, r.phase, r.step.percent]), traffic.samples.at(-1)?.seq ?? 0, traffic.samples.length],
  endpoints: (s) => [s.health.clusters],
  releases: (s) => [s.releases],
  config: (s) => [s.config],
};

function current() {
  const name = location.hash.replace('#', '');
  return VIEWS.includes(name) ? name : 'fleet';
}

function schedule() {
  if (!frame) frame = requestAnimationFrame(render);
}

function render() {
  frame = 0;
  if (!state) return;
  $('node').textContent = `${state.node.id} · region ${state.node.region}`;
  renderSummary($('summary'), state, traffic);
  const name = current();
  for (const v of VIEWS) {
    $(`view-${v}`).hidden = v !== name;
    document.querySelector(`nav a[href="#${v}"]`)?.setAttribute('aria-current', v === name ? 'page' : 'false');
  }
  // Only the visible view is rendered; the others catch up when shown (their slice cache is cleared by the hash change).
  const key = JSON.stringify(slices[name](state));
  if (rendered.get(name) === key) return;
  rendered.set(name, key);
  const el = $(`view-${name}`);
  if (name === 'fleet') renderFleet(el, state);
  else if (name === 'routes') renderRoutes(el, state, traffic, ctx);
  else if (name === 'endpoints') renderEndpoints(el, state);
  else if (name === 'releases') renderReleases(el, state, ctx);
  else renderConfig(el, state, ctx);
  $('main').setAttribute('aria-busy', 'false');
}

function apply(name, data) {
  if (name === 'dashboard') {
    const { traffic: t, generatedAt: _g, ...rest } = data;
    state = rest;
    traffic = t;
    rendered.clear();
  } else if (name === 'state') {
    state = data;
  } else if (name === 'samples') {
    traffic.samples.push(...data);
    if (traffic.samples.length > traffic.capacity) traffic.samples.splice(0, traffic.samples.length - traffic.capacity);
  } else return;
  $('updated').dataset.at = String(Date.now());
  schedule();
}

async function refresh() {
  try {
    apply('dashboard', await api.get('dashboard'));
  } catch {
    // The stream will bring the state when the gateway answers again.
  }
}

function setStatus({ state: st, attempt, error }) {
  const conn = $('conn');
  conn.dataset.state = st;
  document.body.classList.toggle('stale', st === 'reconnecting');
  conn.textContent = connectionLabel(st, attempt, Boolean(token.get()));
  if (st === 'unauthorized') {
    showLogin(token.get() ? 'The gateway refused this token (it may have been rotated). Enter the current admin token.' : 'This gateway needs its admin token.');
  }
  conn.title = error ?? '';
}

function connect() {
  stop?.();
  $('login').hidden = true;
  $('app').hidden = false;
  stop = openStream({ onEvent: apply, onStatus: setStatus });
}

function showLogin(message) {
  stop?.();
  stop = null;
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-message').textContent = message;
  $('token').value = '';
  $('token').focus();
}

let toastTimer = 0;
function notify(text, ok) {
  const t = $('toast');
  t.textContent = `${ok ? '✔' : '✖'} ${text}`;
  t.className = `toast ${ok ? 'ok' : 'bad'}`;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 10_000);
}

// Relative times ("12 s ago") tick without re-rendering anything.
setInterval(() => {
  for (const el of document.querySelectorAll('time[datetime]')) el.textContent = ago(el.getAttribute('datetime'));
  const at = Number($('updated').dataset.at);
  $('updated').textContent = at ? `updated ${ago(at)}` : '';
}, 1000);

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token.set($('token').value.trim());
  connect();
});
$('signout').addEventListener('click', () => {
  token.clear();
  showLogin('Token forgotten. Enter it again to reconnect.');
});
window.addEventListener('hashchange', () => {
  rendered.delete(current());
  schedule();
  $('main').focus({ preventScroll: true });
});

connect();
