// Issue #20 "What to build" 5: a fuzzer for request targets and authorities.
// 100,000 seeded cases, in process: every route decision equals the decision
// for the normalised form, and equals the decision for an independent
// normalisation (WHATWG URL, the browsers' parser). A sample then goes through
// a real gateway process, whose upstream log says which route forwarded it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable } from '../../src/edge/route-table.ts';
import { prepareRequest, routeAcceptsEscapedSlash, DEFAULT_REQUEST_POLICY } from '../../src/edge/normalize.ts';
import type { RouteConfig } from '../../src/config/schema/index.ts';
import { seededRng } from '../../src/util/rng.ts';
import { fuzzRoutes, fuzzCase, type FuzzCase } from './lib/target-fuzz.ts';
import { startGateway } from './lib/gateway.ts';
import { startLoggingUpstream } from './lib/logging-upstream.ts';
import { rawHttp, parseRawResponse } from './lib/clients.ts';

const CASES = 100_000;
const SEED = Number(process.env.EDGEPLANE_FUZZ_SEED ?? 20);
const routes = fuzzRoutes('c');
const table = new RouteTable(routes.map((r) => ({ config: r as unknown as RouteConfig, route: r.name })));
const noHeaders = () => undefined;

/** What the gateway does with a request: the route that forwards it, 'none' (404) or 'reject:<reason>'. */
function decide(c: FuzzCase): { decision: string; url?: string; authority?: string } {
  // HTTP parsers strip the optional whitespace around a header value; so does this emulation.
  const p = prepareRequest(c.target, null, ['Host', c.host.trim()], DEFAULT_REQUEST_POLICY);
  if (!p.ok) return { decision: `reject:${p.reason}` };
  const route = table.match(p.host, p.path, 'GET', noHeaders);
  if (route === undefined) return { decision: 'none', url: p.url, authority: p.authority };
  const routeConfig = routes.find((r) => r.name === route)!;
  if (!routeAcceptsEscapedSlash(p, (routeConfig as { escapedSlashes?: 'keep' | 'reject' }).escapedSlashes ?? null, DEFAULT_REQUEST_POLICY)) {
    return { decision: 'reject:escaped_slash', url: p.url, authority: p.authority };
  }
  return { decision: route, url: p.url, authority: p.authority };
}

/**
 * The same request normalised by a different implementation: WHATWG URL resolves dot
 * segments (including %2e forms) and backslashes; then unreserved %XX are decoded,
 * other escapes upper-cased and slashes merged, as RFC 3986 §6.2.2 and merge_slashes say.
 */
function oracle(c: FuzzCase): string {
  let url: URL;
  try {
    url = new URL(c.target.startsWith('/') ? `http://${c.host.trim()}${c.target}` : c.target);
  } catch {
    return 'whatwg-rejects';
  }
  let host = url.hostname;
  if (host.endsWith('.')) host = host.slice(0, -1);
  const path = url.pathname
    .replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
      const ch = String.fromCharCode(parseInt(hex, 16));
      return /[A-Za-z0-9._~-]/.test(ch) ? ch : `%${hex.toUpperCase()}`;
    })
    .replace(/\/{2,}/g, '/');
  const route = table.match(host, path, 'GET', noHeaders);
  if (route === undefined) return 'none';
  if (/%2F|%5C/.test(path)) return 'reject:escaped_slash';
  return route;
}

test(`${CASES} fuzzed targets and authorities: the route decision equals the decision for the normalised form and for an independent normaliser (seed ${SEED})`, () => {
  const rng = seededRng(SEED);
  const seen = new Map<string, number>();
  const mismatches: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const c = fuzzCase(rng);
    const d = decide(c);
    seen.set(d.decision, (seen.get(d.decision) ?? 0) + 1);
    if (d.url === undefined) continue;
    // 1. Normalising is a fixed point: the normalised request routes the same way.
    const again = decide({ target: d.url, host: d.authority! });
    if (again.decision !== d.decision || again.url !== d.url) mismatches.push(`not idempotent: ${JSON.stringify(c)} -> ${d.decision} ${d.url}, then ${again.decision} ${again.url}`);
    // 2. An independent normaliser reaches the same route.
    const o = oracle(c);
    if (o !== d.decision) mismatches.push(`oracle differs: ${JSON.stringify(c)} -> gateway ${d.decision} (${d.url}), WHATWG-based ${o}`);
    if (mismatches.length >= 20) break;
  }
  assert.deepEqual(mismatches, []);
  // The generator reaches every kind of decision (a fuzzer that only produced rejections would prove nothing).
  for (const kind of ['secure', 'admin', 'secret-exact', 'public', 'api-rest', 'wild-ab', 'tilde', 'catch-all', 'reject:escaped_slash', 'reject:ambiguous_path', 'reject:invalid_path', 'reject:invalid_authority']) {
    assert.ok((seen.get(kind) ?? 0) > 0, `no case was decided ${kind}: ${JSON.stringify(Object.fromEntries(seen))}`);
  }
  const accepted = [...seen].filter(([k]) => !k.startsWith('reject:')).reduce((n, [, v]) => n + v, 0);
  assert.ok(accepted > CASES * 0.3, `most cases route somewhere (${accepted} of ${CASES})`);
});

test('a sample of the fuzzed cases through a real gateway process routes exactly as decided in process', { timeout: 240_000 }, async (t) => {
  const upstream = await startLoggingUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({
    node: { id: 'sec-fuzz', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'logged', endpoints: [upstream.address] }],
    // Each route stamps its name, so the upstream log says which route forwarded a request.
    routes: fuzzRoutes('logged').map((r) => ({ ...r, requestHeaders: { set: { 'x-route': r.name } } })),
  });
  t.after(() => gw.stop());
  const port = gw.ready.listeners[0]!.port;
  const rng = seededRng(SEED + 1);
  let compared = 0;
  let parserRejected = 0;
  const mismatches: string[] = [];
  for (let i = 0; i < 400; i++) {
    const c = fuzzCase(rng);
    const want = decide(c);
    upstream.clear();
    const res = parseRawResponse(await rawHttp(port, `GET ${c.target} HTTP/1.1\r\nHost: ${c.host}\r\nConnection: close\r\n\r\n`));
    let got: string;
    if (res.status === 200) {
      got = upstream.log[0]?.headers.get('x-route')?.[0] ?? '(nothing reached the upstream)';
      if (upstream.log[0] && upstream.log[0].url !== want.url) mismatches.push(`${JSON.stringify(c)}: upstream got ${upstream.log[0].url}, decided ${want.url}`);
    } else {
      const reason = (() => {
        try {
          return (JSON.parse(res.body) as { error?: string }).error;
        } catch {
          return undefined;
        }
      })();
      if (reason === 'malformed_request') {
        // node's HTTP parser refused the bytes before the gateway saw a request: nothing to compare.
        parserRejected++;
        continue;
      }
      got = reason === 'no_route' ? 'none' : `reject:${reason}`;
    }
    compared++;
    if (got !== want.decision) mismatches.push(`${JSON.stringify(c)}: gateway ${got}, in process ${want.decision}`);
  }
  t.diagnostic(`${compared} compared, ${parserRejected} refused by the HTTP parser first`);
  assert.deepEqual(mismatches, []);
  assert.ok(compared > 300, `enough cases compared (${compared})`);
});
