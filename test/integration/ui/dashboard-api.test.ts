/**
 * The dashboard's server side through `edgeplane run`, without a browser: the
 * static files at /ui (unauthenticated, CSP, ETags, nothing outside ui/),
 * the first-load size, GET /v1/dashboard (token, exact traffic counts from the
 * ring buffer) and the event stream (first event, samples, a rotated token
 * closes it, shutdown ends it instead of hanging).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { openSse } from './lib/sse.ts';

const TOKEN = 'dashboard-api-token';

function config(blue: string, green: string, token = TOKEN): Record<string, unknown> {
  return {
    node: { id: 'gw-ui', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    clusters: [{ name: 'blue', endpoints: [blue] }, { name: 'green', endpoints: [green] }],
    routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }], override: { header: 'x-edge-cluster' } }],
    admin: { address: '127.0.0.1:0', token },
    drain: { delay: '100ms', timeout: '2s' },
  };
}

const get = (gw: GatewayProcess, path: string, headers: Record<string, string> = {}) => fetch(gw.adminUrl() + path, { headers, redirect: 'manual' });
const authed = (gw: GatewayProcess, path: string, token = TOKEN) => get(gw, path, { authorization: `Bearer ${token}` });

function send(gw: GatewayProcess, path: string, cluster: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, gw.url('http')), { agent: false, headers: { 'x-edge-cluster': cluster } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sums the ring buffer's samples for one route and cluster. */
function totals(body: any, route: string, cluster: string): [number, number] {
  let q = 0;
  let e = 0;
  for (const s of body.traffic.samples) {
    const c = s.routes[route]?.[cluster];
    if (c) (q += c[0], e += c[1]);
  }
  return [q, e];
}

test('dashboard endpoints through edgeplane run', async (t) => {
  const blue = await startUpstream('blue');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const gw = await startGateway(config(blue.address, green.address));
  t.after(() => gw.stop('SIGKILL'));

  await t.test('/ui is served without a token, with a CSP that keeps the page on this gateway', async () => {
    const redirect = await get(gw, '/ui');
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), 'ui/');
    const page = await get(gw, '/ui/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline or remote scripts');
    const html = await page.text();
    assert.doesNotMatch(html, /https?:\/\//, 'no absolute URL (no CDN) in the page');
    const etag = page.headers.get('etag')!;
    assert.equal((await get(gw, '/ui/', { 'if-none-match': etag })).status, 304);
    const uplot = await get(gw, '/ui/vendor/uPlot.iife.min.js');
    assert.equal(uplot.status, 200);
    assert.match(uplot.headers.get('content-type') ?? '', /javascript/);
  });

  await t.test('only files of ui/ are served', async () => {
    for (const path of ['/ui/nope.js', '/ui/..%2fpackage.json', '/ui/%2e%2e/package.json', '/ui/js/../../package.json', '/ui/..%2f..%2fsrc%2fgateway.ts']) {
      const res = await get(gw, path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(await res.text(), /"name":\s*"edgeplane"|class Gateway/, path);
    }
  });

  await t.test('the first load (page, styles, uPlot, every module it imports) is under 300 KB', async () => {
    const seen = new Map<string, number>();
    const load = async (path: string): Promise<void> => {
      if (seen.has(path)) return;
      const res = await get(gw, path);
      assert.equal(res.status, 200, path);
      const body = await res.text();
      seen.set(path, Buffer.byteLength(body));
      const base = new URL(path, 'http://x');
      const refs = (res.headers.get('content-type') ?? '').startsWith('text/html')
        ? [...body.matchAll(/(?:src|href)="([^"#:]+)"/g)].map((m) => m[1]!)
        : path.endsWith('.js') && !path.includes('/vendor/')
          ? [...body.matchAll(/(?:from|import)\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!)
          : [];
      for (const r of refs) await load(new URL(r, base).pathname);
    };
    await load('/ui/');
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(`first load: ${seen.size} files, ${total} bytes`);
    assert.ok(seen.has('/ui/js/app.js') && seen.has('/ui/vendor/uPlot.iife.min.js') && seen.has('/ui/js/views/config.js'), [...seen.keys()].join(' '));
    assert.ok(total < 300 * 1024, `${total} bytes`);
  });

  await t.test('GET /v1/dashboard needs the token and counts every request of the route per cluster', async () => {
    assert.equal((await get(gw, '/v1/dashboard')).status, 401);
    assert.equal((await authed(gw, '/v1/dashboard', 'wrong')).status, 401);
    const first = (await (await authed(gw, '/v1/dashboard')).json()) as any;
    assert.deepEqual(first.node, { id: 'gw-ui', region: 'jp' });
    assert.deepEqual(first.routes, [{ name: 'api', hosts: [], path: 'prefix /', split: [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }], release: null }]);
    assert.equal(first.config.version, 1);
    assert.deepEqual(first.health.clusters.map((c: any) => c.name), ['blue', 'green']);
    assert.equal(first.fleet, null, 'no gossip section');
    assert.equal(first.dns, null, 'no dns section');
    assert.deepEqual(first.releases, []);
    assert.equal(first.traffic.intervalMs, 2000);

    for (let i = 0; i < 6; i++) assert.equal(await send(gw, '/', 'blue'), 200);
    assert.equal(await send(gw, '/', 'green'), 200);
    assert.equal(await send(gw, '/status/500', 'green'), 500);
    assert.equal(await send(gw, '/status/503', 'green'), 503);
    const body = await waitFor(async () => {
      const b = (await (await authed(gw, '/v1/dashboard')).json()) as any;
      return totals(b, 'api', 'green')[0] >= 3 && totals(b, 'api', 'blue')[0] >= 6 ? b : null;
    }, { timeoutMs: 15_000, what: 'the requests in the traffic samples' });
    assert.deepEqual(totals(body, 'api', 'blue'), [6, 0]);
    assert.deepEqual(totals(body, 'api', 'green'), [3, 2]);
    const seqs = body.traffic.samples.map((s: any) => s.seq);
    assert.deepEqual(seqs, [...seqs].sort((a: number, b: number) => a - b), 'samples oldest first');
  });

  await t.test('the event stream: the whole dashboard first, then samples and state', async () => {
    const refused = await openSse(gw.adminUrl() + '/v1/dashboard/events', null);
    assert.equal(refused.status, 401);
    const sse = await openSse(gw.adminUrl() + '/v1/dashboard/events', TOKEN);
    try {
      assert.equal(sse.status, 200);
      await waitFor(() => sse.events.some((e) => e.event === 'samples'), { timeoutMs: 15_000, what: 'a samples event' });
      const [first] = sse.events;
      assert.equal(first!.event, 'dashboard');
      assert.equal(first!.data.node.id, 'gw-ui');
      assert.ok(Array.isArray(first!.data.traffic.samples));
      const lastSeq = first!.data.traffic.samples.at(-1)?.seq ?? 0;
      const next = sse.events.find((e) => e.event === 'samples')!.data;
      assert.ok(next.length >= 1 && next[0].seq === lastSeq + 1, `samples continue after ${lastSeq}: ${JSON.stringify(next.map((s: any) => s.seq))}`);
      // A write shows up as a state event with the new version.
      const put = await fetch(gw.adminUrl() + '/v1/routes/api/split', { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ split: [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }] }) });
      assert.equal(put.status, 200);
      await waitFor(() => sse.events.some((e) => e.event === 'state' && e.data.config.version === 2 && e.data.routes[0].split[0].weight === 90), { what: 'the new version in a state event' });
    } finally {
      sse.abort();
    }
  });

  await t.test('a stream opened with a token that a reload rotates away is closed', async () => {
    const sse = await openSse(gw.adminUrl() + '/v1/dashboard/events', TOKEN);
    assert.equal(sse.status, 200);
    gw.writeConfig(config(blue.address, green.address, 'rotated-dashboard-token'));
    gw.proc.kill('SIGHUP');
    await sse.ended;
    assert.deepEqual(sse.events.at(-1), { event: 'bye', data: { reason: 'unauthorized' } });
    assert.equal((await authed(gw, '/v1/dashboard', 'rotated-dashboard-token')).status, 200);
  });

  await t.test('shutdown ends open streams instead of waiting for them', async () => {
    const sse = await openSse(gw.adminUrl() + '/v1/dashboard/events', 'rotated-dashboard-token');
    assert.equal(sse.status, 200);
    await waitFor(() => sse.events.length > 0, { what: 'the first event' });
    // stop() falls back to SIGKILL after its timeout: exit code 0 means the gateway closed by itself.
    assert.equal(await gw.stop('SIGTERM', 20_000), 0, gw.output());
    await sse.ended;
    assert.deepEqual(sse.events.at(-1), { event: 'bye', data: { reason: 'gateway shutting down' } });
  });
});
