// A tiny element builder. Text always goes in as text nodes (never innerHTML):
// names, reasons and config values come from the gateway and must not become markup.

/**
 * h('td', {class: 'x', 'data-key': k, onclick: fn}, 'text', child, [more])
 * Attributes: `class`, `text`, `on<event>` handlers, booleans (true = present), anything else as an attribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * Replaces a container's content, keeping what a re-render would otherwise
 * take from the operator: keyboard focus and open <details>, matched by `data-key`.
 * State arrives every second; without this a focused button would lose focus each time.
 */
export function replace(container, ...children) {
  const active = document.activeElement;
  const focusKey = active && container.contains(active) ? active.getAttribute('data-key') : null;
  const open = new Set([...container.querySelectorAll('details[data-key][open]')].map((d) => d.getAttribute('data-key')));
  const closed = new Set([...container.querySelectorAll('details[data-key]:not([open])')].map((d) => d.getAttribute('data-key')));
  container.replaceChildren();
  append(container, children);
  for (const d of container.querySelectorAll('details[data-key]')) {
    const k = d.getAttribute('data-key');
    if (open.has(k)) d.open = true;
    else if (closed.has(k)) d.open = false;
  }
  if (focusKey) container.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
}

/** A state badge: an icon and a word, so colour is never the only signal. */
export function badge(kind, label, icon) {
  return h('span', { class: `badge ${kind}` }, h('span', { class: 'icon', 'aria-hidden': 'true' }, icon ?? ICONS[kind] ?? '•'), ' ', label);
}

const ICONS = { ok: '●', warn: '▲', bad: '✖', muted: '○', info: '◆' };

/** A section card with a heading. */
export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h3', {}, title) : null, ...children);
}

/** Wraps a table so it scrolls sideways on a narrow screen instead of breaking the layout. */
export function table(head, rows, attrs = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', attrs, h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows)),
  );
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}
