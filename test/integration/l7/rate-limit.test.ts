import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'undici';
import { SignJWT } from 'jose';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { ISSUER, AUDIENCE, JwksServer, makeKey, type TestKey } from '../../unit/jwt/fixtures.ts';

/** HTTP rate limiting on a real gateway process. Periods are an hour long, so no token comes back during the test. */
let gw: GatewayProcess;
let upstream: TestUpstream;
let jwks: JwksServer;
let key: TestKey;
const hits = new Map<string, number>();
const agent = new Agent({ connections: 4 });

function config(renamed = false) {
  return {
    node: { id: 'gw-ratelimit', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'up', endpoints: [upstream.address] }],
    routes: [
      { name: 'by-ip', match: { hosts: ['ip.test'] }, split: [{ cluster: 'up', weight: 1 }], rateLimit: [{ ...(renamed ? { name: 'renamed' } : {}), key: { clientAddress: true }, requests: 5, per: '1h' }] },
      { name: 'by-key', match: { hosts: ['key.test'] }, split: [{ cluster: 'up', weight: 1 }], rateLimit: [{ key: { header: 'x-api-key' }, requests: 3, per: '1h', whenKeyMissing: 'skip' }] },
      { name: 'by-claim', match: { hosts: ['claim.test'] }, split: [{ cluster: 'up', weight: 1 }], auth: { jwt: 'main' }, rateLimit: [{ key: { claim: 'sub' }, requests: 2, per: '1h' }] },
      { name: 'auth-ip', match: { hosts: ['authip.test'] }, split: [{ cluster: 'up', weight: 1 }], auth: { jwt: 'main' }, rateLimit: [{ key: { clientAddress: true }, requests: 2, per: '1h' }] },
      { name: 'with-headers', match: { hosts: ['headers.test'] }, split: [{ cluster: 'up', weight: 1 }], rateLimit: [{ key: { clientAddress: true }, requests: 10, per: '1m', responseHeaders: true }] },
      ...(renamed ? [{ name: 'added', match: { hosts: ['added.test'] }, split: [{ cluster: 'up', weight: 1 }] }] : []),
    ],
    jwt: { providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { url: jwks.url } }] },
  };
}

before(async () => {
  key = makeKey('k1', 'ES256');
  jwks = await new JwksServer([key]).listen();
  upstream = await startServer((req, res) => {
    const host = req.headers.host ?? '';
    hits.set(host, (hits.get(host) ?? 0) + 1);
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  gw = await startGateway(config());
});

after(async () => {
  await gw?.stop();
  await agent.close();
  await upstream?.close();
  await jwks?.close();
});

async function get(host: string, headers: Record<string, string> = {}) {
  const res = await request(`${gw.url('http')}/x`, { headers: { host, ...headers }, dispatcher: agent });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

async function statuses(n: number, host: string, headers: Record<string, string> = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(host, headers)).status);
  return out;
}

async function token(sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub, iat: now, exp: now + 600 }).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
}

async function metrics(): Promise<string> {
  return (await fetch(`${gw.adminUrl()}/metrics`)).text();
}

test('per client address: the limit passes, then 429 with Retry-After and RateLimit-*; refused requests never reach the upstream', async () => {
  assert.deepEqual(await statuses(5, 'ip.test'), [200, 200, 200, 200, 200]);
  const r = await get('ip.test');
  assert.equal(r.status, 429);
  const body = JSON.parse(r.text) as { error: string; route: string };
  assert.equal(body.error, 'rate_limited');
  assert.equal(body.route, 'by-ip');
  // 5 per hour: one token every 720 s.
  const retryAfter = Number(r.headers['retry-after']);
  assert.ok(retryAfter > 700 && retryAfter <= 720, `Retry-After ${retryAfter}`);
  assert.equal(r.headers['ratelimit-limit'], '5');
  assert.equal(r.headers['ratelimit-remaining'], '0');
  assert.ok(Number(r.headers['ratelimit-reset']) > 3500);
  assert.equal(r.headers['ratelimit-policy'], '5;w=3600');
  assert.ok(r.headers['x-request-id']);
  assert.equal(hits.get('ip.test'), 5);
  const m = await metrics();
  assert.match(m, /edgeplane_rate_limited_total\{route="by-ip",limit="client-address"\} 1\b/);
  assert.match(m, /edgeplane_requests_total\{route="by-ip",cluster="",code="429"\} 1\b/);
});

test('per header value: each API key has its own bucket; requests without the key are not limited (whenKeyMissing: skip)', async () => {
  assert.deepEqual(await statuses(4, 'key.test', { 'x-api-key': 'a' }), [200, 200, 200, 429]);
  assert.deepEqual(await statuses(4, 'key.test', { 'x-api-key': 'b' }), [200, 200, 200, 429]);
  assert.deepEqual(await statuses(6, 'key.test'), [200, 200, 200, 200, 200, 200]);
});

test('per JWT claim: counted by the verified subject, after authentication', async () => {
  const alice = await token('alice');
  const bob = await token('bob');
  assert.deepEqual(await statuses(3, 'claim.test', { authorization: `Bearer ${alice}` }), [200, 200, 429]);
  // A new token of the same subject shares the bucket; another subject does not.
  assert.deepEqual(await statuses(1, 'claim.test', { authorization: `Bearer ${await token('alice')}` }), [429]);
  assert.deepEqual(await statuses(3, 'claim.test', { authorization: `Bearer ${bob}` }), [200, 200, 429]);
  assert.deepEqual(await statuses(2, 'claim.test'), [401, 401], 'no token: authentication answers first');
});

test('limits not keyed by a claim run before authentication: a flood of bad tokens is refused without checking them', async () => {
  assert.deepEqual(await statuses(4, 'authip.test', { authorization: 'Bearer not.a.token' }), [401, 401, 429, 429]);
  assert.equal(hits.get('authip.test'), undefined);
});

test('RateLimit-* headers on passing responses when asked for', async () => {
  const a = await get('headers.test');
  const b = await get('headers.test');
  assert.equal(a.status, 200);
  assert.deepEqual([a.headers['ratelimit-limit'], a.headers['ratelimit-remaining'], b.headers['ratelimit-remaining']], ['10', '9', '8']);
  assert.equal(a.headers['ratelimit-policy'], '10;w=60');
  assert.equal(a.headers['retry-after'], undefined);
});

test('counters survive a config apply; a renamed limit starts afresh', async () => {
  // by-ip was exhausted by the first test. Apply a config with another route added: still limited.
  const unchanged = { ...config(), routes: [...config().routes, { name: 'added', match: { hosts: ['added.test'] }, split: [{ cluster: 'up', weight: 1 }] }] };
  let put = await fetch(`${gw.adminUrl()}/v1/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(unchanged) });
  assert.equal(put.status, 200, await put.text());
  assert.equal((await get('added.test')).status, 200, 'the new config is in force');
  assert.deepEqual(await statuses(2, 'ip.test'), [429, 429]);
  put = await fetch(`${gw.adminUrl()}/v1/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config(true)) });
  assert.equal(put.status, 200, await put.text());
  assert.deepEqual(await statuses(6, 'ip.test'), [200, 200, 200, 200, 200, 429]);
});
