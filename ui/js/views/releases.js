// Releases: the running ones with phase, step, gate readings against their
// limits, weights and history, with promote / pause / resume / abort behind a
// confirmation; then the finished ones.

import { h, badge, card, table, empty, replace } from '../dom.js';
import { pct, ms, num, timeAgo, duration } from '../format.js';
import { api } from '../api.js';
import { confirmAction } from '../confirm.js';

const ACTIVE = new Set(['waiting', 'progressing', 'paused', 'promoting', 'rolling_back']);
const PHASE = {
  waiting: ['muted', 'waiting for readiness', '○'],
  progressing: ['info', 'progressing', '▶'],
  paused: ['warn', 'paused', '❚❚'],
  promoting: ['info', 'promoting', '⏩'],
  rolling_back: ['warn', 'rolling back', '↺'],
  succeeded: ['ok', 'succeeded', '✔'],
  rolled_back: ['bad', 'rolled back', '↺'],
  aborted: ['bad', 'aborted', '■'],
  failed: ['bad', 'failed', '✖'],
};
const GATES = {
  readiness: { label: 'Ready endpoints', value: (v) => num(v), limit: (t) => `≥ ${t}` },
  minRequests: { label: 'Requests in window', value: (v) => num(v), limit: (t) => `≥ ${t}` },
  errorRate: { label: 'Error rate (5xx)', value: (v) => pct(v, 2), limit: (t) => `≤ ${t}%` },
  p99Latency: { label: 'p99 latency', value: (v) => ms(v), limit: (t) => `≤ ${ms(t)}` },
  ejections: { label: 'Ejections', value: (v) => num(v), limit: (t) => `≤ ${t}` },
};

export function phaseBadge(phase) {
  const [kind, label, icon] = PHASE[phase] ?? ['muted', phase];
  return badge(kind, label, icon);
}

export function renderReleases(el, s, { refresh, notify }) {
  if (s.releases === null) {
    replace(el, h('div', { class: 'view-head' }, h('h2', {}, 'Releases')), empty('This gateway runs no release controller.'));
    return;
  }
  const active = s.releases.filter((r) => ACTIVE.has(r.phase));
  const done = s.releases.filter((r) => !ACTIVE.has(r.phase));
  replace(
    el,
    h('div', { class: 'view-head' }, h('h2', {}, 'Releases'), h('p', { class: 'sub' }, `${active.length} running · ${done.length} finished`)),
    active.length ? active.map((r) => releaseCard(r, refresh, notify)) : card('Running', empty('No release is running. Start one with `edgeplane release start` or POST /v1/releases.')),
    card('Finished', done.length ? finishedTable(done) : empty('None yet.')),
  );
}

function releaseCard(r, refresh, notify) {
  return h(
    'section',
    { class: 'card release', 'data-release': r.id, id: `release-${r.id}` },
    h('div', { class: 'card-head' },
      h('h3', {}, `${r.id}`),
      h('span', { class: 'release-phase' }, phaseBadge(r.phase)),
      h('span', { class: 'dim' }, `${r.strategy} · route `, h('strong', {}, r.route), ' → ', h('strong', {}, r.target), ` · by ${r.author}, started `, timeAgo(h, r.createdAt)),
    ),
    h('p', { class: 'reason' }, r.reason),
    steps(r),
    h('div', { class: 'release-grid' },
      h('div', {}, h('h4', {}, 'Gates'), gates(r)),
      h('div', {},
        h('h4', {}, 'Weights'),
        weightsLine('now', r.weights),
        weightsLine('rollback restores', r.previousSplit),
        r.window ? windowProgress(r.window) : null,
      ),
    ),
    deployColors(r),
    actions(r, refresh, notify),
    history(r),
  );
}

// A release started by a deploy (release kind `deploy`, docs/containers.md):
// the containers of each color, read from the deploy (which asks the daemon)
// at most every 2 s, and patched in place so the card's re-render each second
// does not wait for it.
const DEPLOY_AUTHOR = /\(deploy (dep-\d+)\)/;
const deploys = new Map();

function deployColors(r) {
  const m = DEPLOY_AUTHOR.exec(r.author ?? '');
  if (!m) return null;
  const id = m[1];
  const entry = deploys.get(id) ?? { at: 0, view: null, error: null, loading: false };
  deploys.set(id, entry);
  if (!entry.loading && Date.now() - entry.at > 2000) {
    entry.loading = true;
    api.get(`releases/${encodeURIComponent(id)}`).then(
      (view) => Object.assign(entry, { view, error: null }),
      (err) => Object.assign(entry, { error: err.message }),
    ).finally(() => {
      Object.assign(entry, { at: Date.now(), loading: false });
      const el = document.querySelector(`[data-deploy="${id}"]`);
      if (el) replace(el, ...colorsBody(id, entry));
    });
  }
  return h('div', { class: 'deploy-colors', 'data-deploy': id }, ...colorsBody(id, entry));
}

function colorsBody(id, entry) {
  const v = entry.view;
  const head = h('h4', {}, `Containers (deploy ${id}${v ? `: ${v.image}, ${v.phase}` : ''})`);
  if (entry.error) return [head, h('p', { class: 'dim' }, `cannot read the deploy: ${entry.error}`)];
  if (!v?.colors) return [head, h('p', { class: 'dim' }, 'reading…')];
  return [
    head,
    ...v.colors.map((c) => {
      const rows = c.containers.map((k) => h('tr', { 'data-container': k.name }, h('td', { class: 'mono' }, k.name), h('td', {}, k.image), h('td', {}, badge(k.state === 'running' ? 'ok' : 'muted', k.state)), h('td', { class: 'dim' }, k.status), h('td', { class: 'num' }, k.port ?? '')));
      return h('div', { class: 'deploy-color', 'data-color': c.color },
        h('p', {}, h('strong', {}, c.color), h('span', { class: 'dim' }, ` · cluster ${c.cluster} · weight ${c.weight ?? '—'}${c.color === v.to.color ? ' · new' : ' · serving before'}`)),
        c.error ? h('p', { class: 'dim' }, c.error) : rows.length ? table(['Container', 'Image', 'State', 'Status', 'Port'], rows) : empty('No containers.'),
      );
    }),
  ];
}

function windowProgress(w) {
  const done = Math.min(100, Math.max(0, (100 * (Date.now() - Date.parse(w.startedAt))) / w.durationMs));
  return [
    h('div', { class: 'meter window', role: 'meter', 'aria-label': 'window elapsed', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(done)) }, h('span', { style: { width: `${done}%` } })),
    h('p', { class: 'dim' }, `window of ${w.duration}, ends `, timeAgo(h, w.endsAt)),
  ];
}

function steps(r) {
  return h(
    'ol',
    { class: 'steps', 'aria-label': `plan: step ${r.step.index + 1} of ${r.step.count}` },
    r.plan.map((p, i) => {
      const state = i < r.step.index ? 'done' : i === r.step.index ? 'current' : 'todo';
      const mark = state === 'done' ? '✓ ' : state === 'current' ? '▶ ' : '';
      return h('li', { class: `step ${state}`, 'aria-current': state === 'current' ? 'step' : null }, `${mark}${p}%`);
    }),
  );
}

function gates(r) {
  const rd = r.readings;
  if (!rd) return empty('No reading yet in this window.');
  const rows = rd.gates.map((g) => {
    const f = GATES[g.gate] ?? { label: g.gate, value: (v) => num(v, 2), limit: (t) => String(t) };
    const verdict = g.ok === true ? badge('ok', 'pass') : g.ok === false ? badge('bad', 'fail') : badge('muted', 'pending');
    return h('tr', { 'data-gate': g.gate }, h('td', {}, f.label), h('td', { class: 'num gate-value' }, g.value === null ? '—' : f.value(g.value)), h('td', { class: 'num gate-limit' }, f.limit(g.threshold)), h('td', {}, verdict));
  });
  const [kind, label] = { pass: ['ok', 'pass'], fail: ['bad', 'fail'], pending: ['muted', 'pending'], inconclusive: ['warn', 'inconclusive'] }[rd.verdict] ?? ['muted', rd.verdict];
  return [
    h('p', { class: 'verdict' }, 'verdict ', badge(kind, label), h('span', { class: 'dim' }, ` · ${duration(rd.windowElapsedMs)} into the window · read `, timeAgo(h, rd.at)), rd.reason ? h('span', {}, ` · ${rd.reason}`) : null),
    table(['Gate', 'Reading', 'Limit', ''], rows, { class: 'gates' }),
  ];
}

function weightsLine(label, split) {
  if (!split) return h('p', { class: 'dim' }, `${label}: route is gone`);
  return h('p', { class: 'weights' }, h('span', { class: 'dim' }, `${label}: `), split.map((w) => `${w.cluster} ${w.weight}`).join(' / '));
}

function actions(r, refresh, notify) {
  const act = (name, label, message, { danger = false, body } = {}) =>
    h('button', {
      type: 'button',
      class: danger ? 'danger' : '',
      'data-key': `${r.id}-${name}`,
      'data-action': name,
      onclick: async () => {
        const ok = await confirmAction({ title: `${label} ${r.id}?`, message, confirmLabel: label, danger });
        if (!ok) return;
        try {
          const view = await api.post(`releases/${encodeURIComponent(r.id)}/${name}`, body);
          notify(`${label} ${r.id}: done, now ${PHASE[view.phase]?.[1] ?? view.phase}.`, true);
        } catch (err) {
          notify(`${label} ${r.id} refused: ${err.message}`, false);
        }
        refresh();
      },
    }, label);
  const buttons = [];
  if (r.phase === 'rolling_back') return h('div', { class: 'actions' }, h('span', { class: 'dim' }, 'rolling back: no action possible'));
  if (r.phase !== 'promoting') buttons.push(act('promote', 'Promote', `Skip the rest of the current window on route ${r.route} and move to the next step (${nextStep(r)}).`));
  if (r.phase === 'paused') buttons.push(act('resume', 'Resume', `Carry on with ${r.id} with a fresh window.`));
  else buttons.push(act('pause', 'Pause', `Hold route ${r.route} at its current weights (${(r.weights ?? []).map((w) => `${w.cluster} ${w.weight}`).join(' / ')}); no gates, no steps until resumed.`));
  buttons.push(act('abort', 'Abort', `Roll route ${r.route} back now to ${r.previousSplit.map((w) => `${w.cluster} ${w.weight}`).join(' / ')}. The release ends as aborted.`, { danger: true }));
  return h('div', { class: 'actions' }, buttons);
}

function nextStep(r) {
  const next = r.plan[r.step.index + 1];
  return next === undefined ? `complete: ${r.target} takes 100%` : `${r.target} at ${next}%`;
}

function history(r) {
  const rows = [...r.history].reverse().map((e) =>
    h('tr', {}, h('td', {}, timeAgo(h, e.at)), h('td', {}, phaseBadge(e.phase)), h('td', { class: 'num' }, e.step >= 0 ? `${r.plan[e.step]}%` : '—'), h('td', {}, e.weights ? e.weights.map((w) => `${w.cluster} ${w.weight}`).join(' / ') : ''), h('td', { class: 'num' }, e.version ? `v${e.version}` : ''), h('td', {}, e.reason)),
  );
  return h('details', { 'data-key': `hist-${r.id}`, class: 'history' }, h('summary', { 'data-key': `hist-sum-${r.id}` }, `History (${r.history.length})`), table(['When', 'Phase', 'Step', 'Weights', 'Config', 'Why'], rows));
}

function finishedTable(done) {
  const rows = done.map((r) =>
    h('tr', { 'data-release': r.id }, h('td', { class: 'mono' }, r.id), h('td', {}, r.route), h('td', {}, r.target), h('td', {}, r.strategy), h('td', { class: 'release-phase' }, phaseBadge(r.phase)), h('td', {}, r.reason), h('td', {}, timeAgo(h, r.updatedAt))),
  );
  return table(['Release', 'Route', 'Target', 'Strategy', 'Result', 'Why', 'Ended'], rows, { class: 'finished' });
}
