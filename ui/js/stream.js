// Reads GET /v1/dashboard/events with fetch() instead of EventSource, because
// EventSource cannot send the Authorization header (the token would have to go
// in the URL). Reconnects with backoff whenever the stream ends: a gateway
// restart, a network blip, or a half-open connection the watchdog notices.

import { apiUrl, authHeaders } from './api.js';

/** Nothing at all (not even the 15 s keep-alive comment) for this long means the connection is dead. */
const SILENCE_MS = 40_000;
const MAX_BACKOFF_MS = 5_000;

/**
 * onEvent(name, data) for every event; onStatus({state, attempt, error}) with
 * state one of 'connecting' | 'live' | 'reconnecting' | 'unauthorized'.
 * Returns stop().
 */
export function openStream({ onEvent, onStatus }) {
  let stopped = false;
  let controller = null;
  let attempt = 0;

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      let watchdog = null;
      const kick = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => controller.abort(new Error('no data from the gateway')), SILENCE_MS);
      };
      let error = null;
      try {
        onStatus({ state: attempt === 0 ? 'connecting' : 'reconnecting', attempt });
        kick();
        const res = await fetch(apiUrl('dashboard/events'), { headers: { ...authHeaders(), accept: 'text/event-stream' }, cache: 'no-store', signal: controller.signal });
        if (res.status === 401) {
          clearTimeout(watchdog);
          onStatus({ state: 'unauthorized', attempt });
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        let first = true;
        await readEvents(res.body, (name, data) => {
          if (first) {
            first = false;
            attempt = 0;
            onStatus({ state: 'live', attempt });
          }
          onEvent(name, data);
        }, kick);
        error = new Error('the stream ended');
      } catch (err) {
        error = err;
      } finally {
        clearTimeout(watchdog);
      }
      if (stopped) return;
      attempt++;
      onStatus({ state: 'reconnecting', attempt, error: error?.message ?? String(error) });
      // Exponential backoff with jitter, so a restarted gateway is not hit by every tab at once.
      const wait = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt, 5)) * (0.75 + Math.random() * 0.5);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}

/** Parses text/event-stream: events end at a blank line; `:` lines are comments. */
async function readEvents(body, emit, onBytes) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onBytes();
    buf += value;
    let m;
    while ((m = /\r?\n\r?\n/.exec(buf)) !== null) {
      const block = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      let name = 'message';
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'event') name = val;
        else if (field === 'data') data.push(val);
      }
      if (data.length) emit(name, JSON.parse(data.join('\n')));
    }
  }
}
