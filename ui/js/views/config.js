// Config: the version in force, the kept history (who, when, what), a diff
// between any two kept versions, and rollback (as a new version) behind a
// confirmation.

import { h, badge, card, table, empty, replace } from '../dom.js';
import { timeAgo } from '../format.js';
import { api } from '../api.js';
import { confirmAction } from '../confirm.js';
import { toLines, diffLines, withContext } from '../diff.js';

/** Which versions the operator compares; null = the default (previous → current), which follows new versions. */
let chosen = null;
/** version → lines, fetched once (a version never changes). */
const texts = new Map();
let diffState = { key: '', lines: null, error: null };

export function renderConfig(el, s, ctx) {
  const { version, history, limit } = s.config;
  const head = history.find((v) => v.version === version);
  const versions = history.map((v) => v.version);
  const pair = chosen && versions.includes(chosen.from) && versions.includes(chosen.to) ? chosen : { from: versions[1] ?? version, to: version };
  replace(
    el,
    h('div', { class: 'view-head' },
      h('h2', {}, 'Config'),
      h('p', { class: 'sub' }, h('strong', { class: 'current-version' }, `version ${version}`), head ? [' · applied ', timeAgo(h, head.at), ` by ${head.author} (${head.source}) · ${head.change}`] : null, ` · keeping the last ${limit}`),
    ),
    card('History', history.length ? historyTable(history, version, ctx) : empty('No versions kept.')),
    card('Diff', diffControls(versions, pair, el, s, ctx), diffBody(pair)),
  );
  ensureDiff(pair, el, s, ctx);
}

function historyTable(history, current, ctx) {
  const rows = history.map((v) =>
    h(
      'tr',
      { 'data-version': String(v.version) },
      h('td', {}, h('strong', {}, `v${v.version}`)),
      h('td', {}, timeAgo(h, v.at)),
      h('td', {}, v.source, v.rolledBackTo ? h('span', { class: 'dim' }, ` of v${v.rolledBackTo}`) : null),
      h('td', {}, v.author),
      h('td', { class: 'change' }, v.change),
      h('td', {}, v.version === current ? badge('ok', 'current') : h('button', { type: 'button', 'data-key': `rollback-${v.version}`, 'data-rollback': String(v.version), onclick: () => rollback(v.version, current, ctx) }, `Roll back to v${v.version}`)),
    ),
  );
  return table(['Version', 'When', 'Source', 'Author', 'Change', ''], rows, { class: 'versions' });
}

async function rollback(version, current, ctx) {
  const ok = await confirmAction({
    title: `Roll back to version ${version}?`,
    message: `Version ${version}'s config becomes current again as a new version (history is kept; v${current} stays in it). Routes, splits and clusters change at once.`,
    confirmLabel: `Roll back to v${version}`,
    danger: true,
  });
  if (!ok) return;
  try {
    const r = await api.post('rollback', { version });
    ctx.notify(r.changed ? `Rolled back: version ${r.version} has v${version}'s config.` : `Version ${version}'s config is already in force (v${r.version}).`, true);
  } catch (err) {
    ctx.notify(`Rollback refused: ${err.message}`, false);
  }
  ctx.refresh();
}

function diffControls(versions, pair, el, s, ctx) {
  const select = (name, value) =>
    h('select', {
      id: `diff-${name}`,
      'data-key': `diff-${name}`,
      onchange: (e) => {
        chosen = { ...pair, [name]: Number(e.target.value) };
        renderConfig(el, s, ctx);
      },
    }, versions.map((v) => h('option', { value: String(v), selected: v === value }, `v${v}`)));
  return h('div', { class: 'diff-controls' }, h('label', { for: 'diff-from' }, 'from '), select('from', pair.from), h('label', { for: 'diff-to' }, ' to '), select('to', pair.to));
}

function diffBody(pair) {
  const key = `${pair.from}-${pair.to}`;
  if (diffState.key !== key || (!diffState.lines && !diffState.error)) return h('p', { class: 'dim diff-status' }, 'loading…');
  if (diffState.error) return h('p', { class: 'note bad' }, diffState.error);
  const lines = diffState.lines;
  const added = lines.filter((l) => l.op === '+').length;
  const removed = lines.filter((l) => l.op === '-').length;
  if (added + removed === 0) return h('p', { class: 'dim diff-status' }, pair.from === pair.to ? 'Same version.' : `v${pair.from} and v${pair.to} have the same config.`);
  return [
    h('p', { class: 'diff-status' }, badge('ok', `${added} added`, '+'), ' ', badge('bad', `${removed} removed`, '−'), h('span', { class: 'dim' }, ` lines, v${pair.from} → v${pair.to}`)),
    h('pre', { class: 'diff', tabindex: '0', 'aria-label': `config diff v${pair.from} to v${pair.to}` },
      withContext(lines).map((l) =>
        l.op === '…' ? h('span', { class: 'gap' }, `   … ${l.count} unchanged line${l.count === 1 ? '' : 's'}\n`) : h('span', { class: l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'same' }, `${l.op} ${l.text}\n`),
      ),
    ),
  ];
}

async function ensureDiff(pair, el, s, ctx) {
  const key = `${pair.from}-${pair.to}`;
  // Loading or loaded: nothing to do. After an error (say, the gateway was restarting) the next render retries.
  if (diffState.key === key && !diffState.error) return;
  diffState = { key, lines: null, error: null };
  try {
    const [a, b] = await Promise.all([lines(pair.from), lines(pair.to)]);
    if (diffState.key !== key) return;
    diffState = { key, lines: diffLines(a, b), error: null };
  } catch (err) {
    if (diffState.key !== key) return;
    diffState = { key, lines: null, error: `Could not load the versions: ${err.message}` };
  }
  ctx.rerender('config');
}

async function lines(v) {
  if (!texts.has(v)) texts.set(v, api.get(`versions/${v}`).then((r) => toLines(r.config)));
  try {
    return await texts.get(v);
  } catch (err) {
    texts.delete(v);
    throw err;
  }
}
