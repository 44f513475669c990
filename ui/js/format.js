// Number and time formatting shared by the views.

export function pct(x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${x.toFixed(digits)}%`;
}

export function num(x, digits = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function ms(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x < 1) return `${x.toFixed(2)} ms`;
  if (x < 1000) return `${Math.round(x)} ms`;
  return `${(x / 1000).toFixed(x < 10_000 ? 2 : 1)} s`;
}

/** "4 s", "3 min", "2 h", "5 d" for a duration in ms. */
export function duration(d) {
  if (d === null || d === undefined || !Number.isFinite(d)) return '—';
  if (d < 1000) return '<1 s';
  const s = Math.max(0, Math.round(d / 1000));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const hr = Math.round(m / 60);
  if (hr < 36) return `${hr} h`;
  return `${Math.round(hr / 24)} d`;
}

/** "12 s ago" (or "in 12 s") for an ISO time or epoch ms. */
export function ago(t, now = Date.now()) {
  const at = typeof t === 'string' ? Date.parse(t) : t;
  if (!Number.isFinite(at)) return '—';
  if (Math.abs(now - at) < 1500) return 'just now';
  // Future times (an ejection's end, a window's end) read "in 25 s".
  return at > now ? `in ${duration(at - now)}` : `${duration(now - at)} ago`;
}

/** Local date and time, for tooltips next to relative times. */
export function stamp(t) {
  const at = typeof t === 'string' ? Date.parse(t) : t;
  return Number.isFinite(at) ? new Date(at).toLocaleString() : '';
}

/** <time> element showing "12 s ago" with the exact time as its title. */
export function timeAgo(h, t) {
  const iso = typeof t === 'string' ? t : new Date(t).toISOString();
  return h('time', { datetime: iso, title: stamp(t) }, ago(t));
}

/**
 * The connection badge. Before any token was given, a 401 means "enter the
 * token", not "your token was refused" (the page's first paint on a
 * gateway with admin.token set).
 */
export function connectionLabel(state, attempt, hasToken) {
  if (state === 'live') return '● live';
  if (state === 'connecting') return '○ connecting…';
  if (state === 'reconnecting') return `⟳ reconnecting${attempt > 1 ? ` (attempt ${attempt})` : ''}…`;
  if (state === 'unauthorized') return hasToken ? '✖ token refused' : '🔒 token needed';
  return state;
}
