/**
 * The request path on both engines, named explicitly in the config: the rest
 * of the suite runs on the default engine (native; EDGEPLANE_ENGINE=node runs
 * it all on the reference), so this file keeps the other one covered — plain
 * and chunked proxying with the forwarded headers, a smuggling attempt, a
 * retried connect failure, the route timeout, JWT, an HTTP/2 (h2c) upstream
 * cluster, HTTP/2 downstream over TLS, and a drain with a request in flight.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { writeFileSync, readFileSync } from 'node:fs';
import { request, Agent } from 'undici';
import { SignJWT } from 'jose';
import { startGateway, repoRoot, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { rawHttp, parseRawResponse } from '../../helpers/raw-http.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { waitFor } from '../../helpers/wait.ts';
import { makeKey, ISSUER, AUDIENCE, type TestKey } from '../../unit/jwt/fixtures.ts';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let upstream: TestUpstream;
let h2c: http2.Http2Server;
let h2cPort = 0;
let deadPort = 0;
let key: TestKey;
let jwksDir: string;
const seen: Seen[] = [];

before(async () => {
  upstream = await startServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const delay = /^\/slow\?ms=(\d+)/.exec(req.url ?? '');
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url, body }));
      if (delay) setTimeout(answer, Number(delay[1]));
      else answer();
    });
  });
  h2c = http2.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`h2c ${req.method} ${req.url}`));
  });
  await new Promise<void>((resolve) => h2c.listen(0, '127.0.0.1', resolve));
  h2cPort = (h2c.address() as net.AddressInfo).port;
  // A port nothing listens on: connecting to it fails at once.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  key = makeKey('both-k1', 'ES256');
  jwksDir = tempDir('edgeplane-both-jwks-');
  writeFileSync(join(jwksDir, 'jwks.json'), JSON.stringify({ keys: [key.jwk] }));
});

after(async () => {
  await upstream?.close();
  await new Promise<void>((resolve) => (h2c ? h2c.close(() => resolve()) : resolve()));
});

function config(engine: 'node' | 'native') {
  return {
    node: { id: `both-${engine}`, region: 'jp' },
    engine,
    listeners: [
      { name: 'http', address: '127.0.0.1:0', protocol: 'http' },
      {
        name: 'https',
        address: '127.0.0.1:0',
        protocol: 'https',
        tls: { certificates: [{ cert: join(repoRoot, 'certs-dev/server.crt'), key: join(repoRoot, 'certs-dev/server.key') }], http2: true },
      },
    ],
    drain: { delay: '0s', timeout: '10s' },
    clusters: [
      { name: 'up', endpoints: [upstream.address] },
      // The dead endpoint first: round-robin tries it, the retry goes to the live one.
      { name: 'half-dead', endpoints: [`127.0.0.1:${deadPort}`, upstream.address], loadBalancer: 'round-robin' },
      { name: 'grpcish', protocol: 'h2c', endpoints: [`127.0.0.1:${h2cPort}`] },
    ],
    routes: [
      { name: 'retry', match: { hosts: ['retry.test'] }, split: [{ cluster: 'half-dead', weight: 1 }], retries: { attempts: 2, on: ['connect-failure'] } },
      { name: 'timeout', match: { hosts: ['timeout.test'] }, split: [{ cluster: 'up', weight: 1 }], timeout: '200ms' },
      { name: 'jwt', match: { hosts: ['jwt.test'] }, split: [{ cluster: 'up', weight: 1 }], auth: { jwt: 'main' } },
      { name: 'h2c', match: { hosts: ['h2c.test'] }, split: [{ cluster: 'grpcish', weight: 1 }] },
      { name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'up', weight: 1 }] },
    ],
    jwt: {
      providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { file: join(jwksDir, 'jwks.json') }, claimsToHeaders: [{ claim: 'sub', header: 'x-jwt-sub' }] }],
    },
  };
}

for (const engine of ['node', 'native'] as const) {
  describe(`engine: ${engine}`, () => {
    let gw: GatewayProcess;
    let base: string;
    const agent = new Agent({ connections: 4 });

    before(async () => {
      gw = await startGateway(config(engine), { timeoutMs: 120_000 });
      base = gw.url('http');
    });

    after(async () => {
      await agent.close();
      await gw?.stop();
    });

    async function get(host: string, path: string, headers: Record<string, string> = {}) {
      const res = await request(`${base}${path}`, { headers: { host, ...headers }, dispatcher: agent });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    }

    it('proxies a GET with the forwarded headers, and a chunked POST body whole', async () => {
      const r = await get('a.test', `/hello-${engine}?x=1`);
      assert.equal(r.status, 200);
      assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      const s = seen.find((x) => x.url === `/hello-${engine}?x=1`)!;
      assert.equal(s.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(s.headers['x-forwarded-host'], 'a.test');
      assert.equal(s.headers['x-forwarded-proto'], 'http');
      assert.equal(s.headers['x-request-id'], r.headers['x-request-id']);
      const body = 'x'.repeat(100_000);
      const post = await request(`${base}/post-${engine}`, { method: 'POST', headers: { host: 'a.test' }, body: Readable.from([body.slice(0, 50_000), body.slice(50_000)]), dispatcher: agent });
      assert.equal(post.statusCode, 200);
      assert.equal((JSON.parse(await post.body.text()) as { body: string }).body.length, 100_000);
    });

    it('refuses Content-Length with Transfer-Encoding (request smuggling) and forwards nothing', async () => {
      const before = seen.length;
      const text = await rawHttp(gw.ready.listeners[0]!.port, `POST /smuggle-${engine} HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled-${engine} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
      assert.equal(parseRawResponse(text).status, 400);
      assert.equal(seen.slice(before).filter((s) => s.url.includes('smuggl')).length, 0);
    });

    it('retries a connect failure on the next endpoint', async () => {
      for (let i = 0; i < 4; i++) assert.equal((await get('retry.test', `/retry-${i}`)).status, 200);
    });

    it('answers 504 when the route timeout passes', async () => {
      const r = await get('timeout.test', '/slow?ms=2000');
      assert.equal(r.status, 504);
      assert.match(r.text, /upstream_timeout/);
    });

    it('JWT: 401 without a token, claim header with one', async () => {
      assert.equal((await get('jwt.test', '/jwt')).status, 401);
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: `alice-${engine}`, iat: now, exp: now + 600 }).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
      const r = await get('jwt.test', `/jwt-ok-${engine}`, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 200);
      assert.equal(seen.find((s) => s.url === `/jwt-ok-${engine}`)!.headers['x-jwt-sub'], `alice-${engine}`);
    });

    it('proxies to an HTTP/2 (h2c) upstream cluster', async () => {
      const r = await get('h2c.test', `/grpc-like-${engine}`);
      assert.equal(r.status, 200);
      assert.equal(r.text, `h2c GET /grpc-like-${engine}`);
    });

    it('serves HTTP/2 downstream over TLS (ALPN h2) through the same request path', async () => {
      const session = http2.connect(gw.url('https'), { ca: readFileSync(join(repoRoot, 'certs-dev/ca.crt')), servername: 'localhost' });
      try {
        const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const stream = session.request({ ':path': `/h2-${engine}`, ':authority': 'a.test' });
          let status = 0;
          let body = '';
          stream.on('response', (h) => (status = Number(h[':status'])));
          stream.on('data', (d: Buffer) => (body += d.toString()));
          stream.on('end', () => resolve({ status, body }));
          stream.on('error', reject);
          stream.end();
        });
        assert.equal(status, 200);
        assert.equal((JSON.parse(body) as { url: string }).url, `/h2-${engine}`);
        assert.equal(seen.find((s) => s.url === `/h2-${engine}`)!.headers['x-forwarded-proto'], 'https');
      } finally {
        session.close();
      }
    });

    it('drain: a request in flight at SIGTERM completes, then the process exits 0', async () => {
      const path = `/slow?ms=800&drain=${engine}`;
      const inflight = get('a.test', path);
      // The upstream records a request when it arrives and answers 800 ms later: the signal comes in between.
      await waitFor(() => seen.some((s) => s.url === path), { timeoutMs: 10_000, what: 'request at the upstream' });
      const code = gw.stop('SIGTERM', 20_000);
      const r = await inflight;
      assert.equal(r.status, 200);
      assert.equal(await code, 0);
    });
  });
}
