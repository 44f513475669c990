// Issue #20 finding 2 and "What to build" item 2: the same limits on every
// listener kind (HTTP/1.1, TLS HTTP/1.1, h2); oversize h2 headers are refused
// by the gateway and never cost a healthy endpoint its place (outlier detection).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import http2 from 'node:http2';
import { startGateway, devTls, type GatewayProcess } from './lib/gateway.ts';
import { startLoggingUpstream, type LoggingUpstream } from './lib/logging-upstream.ts';
import { rawHttp, rawHttps, parseRawResponse, h2Connect, h2Request, devCa, openSilent, closedByPeer } from './lib/clients.ts';
import { connectRawH2 } from './lib/h2-frames.ts';
import { waitFor } from '../helpers/wait.ts';

let upstream: LoggingUpstream;
let gw: GatewayProcess;
let httpsPort: number;
let httpPort: number;

before(async () => {
  upstream = await startLoggingUpstream();
  const limits = { headersTimeout: '1s', requestTimeout: '2s', keepAliveTimeout: '1s', maxHeaderSize: 4096 };
  gw = await startGateway({
    node: { id: 'sec-limits', region: 'jp' },
    listeners: [
      { name: 'https', address: '127.0.0.1:0', protocol: 'https', tls: devTls(), ...limits },
      { name: 'http', address: '127.0.0.1:0', protocol: 'http', ...limits },
    ],
    admin: { address: '127.0.0.1:0' },
    clusters: [{
      name: 'logged',
      endpoints: [upstream.address],
      outlierDetection: { consecutive5xx: 3, consecutiveGatewayFailure: 3, maxEjectionPercent: 100, baseEjectionTime: '60s' },
    }],
    routes: [{ name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'logged', weight: 1 }] }],
  });
  httpsPort = gw.ready.listeners.find((l) => l.name === 'https')!.port;
  httpPort = gw.ready.listeners.find((l) => l.name === 'http')!.port;
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

function tlsH1(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'api.svc.plus', ca: devCa(), ALPNProtocols: ['http/1.1'] }, () => resolve(s));
    s.once('error', reject);
  });
}

test('finding 2: slowloris over TLS (h1 by ALPN on an h2 listener) is cut off by headersTimeout', async () => {
  const s = await tlsH1(httpsPort);
  s.on('error', () => {});
  s.write('GET / HTTP/1.1\r\nHost: api.svc.plus\r\nX-Slow: 1\r\n');
  // One byte every 300ms never completes the headers; a 1s header timeout must close it well before 20s.
  const drip = setInterval(() => s.writable && s.write('X'), 300);
  try {
    assert.equal(await closedByPeer(s, 20_000), true, 'the gateway closed the slow connection');
  } finally {
    clearInterval(drip);
    s.destroy();
  }
});

test('finding 2: maxHeaderSize holds over TLS h1 and h2; nothing oversize reaches the upstream', async () => {
  upstream.clear();
  const big = 'a'.repeat(8192);
  const h1 = parseRawResponse(await rawHttps(httpsPort, `GET /h1big HTTP/1.1\r\nHost: api.svc.plus\r\nX-Big: ${big}\r\nConnection: close\r\n\r\n`));
  assert.equal(h1.status, 431);
  const session = h2Connect(httpsPort);
  try {
    const outcome = await h2Request(session, { ':method': 'GET', ':path': '/h2big', ':authority': 'api.svc.plus', ':scheme': 'https', 'x-big': big }).then(
      (r) => `status ${r.status}`,
      (err: Error) => `refused: ${err.message}`,
    );
    assert.ok(outcome === 'status 431' || outcome.startsWith('refused'), outcome);
  } finally {
    session.destroy();
  }
  assert.deepEqual(upstream.log.map((r) => r.url), []);
});

test('finding 2: oversize h2 headers never get a healthy endpoint ejected', async (t) => {
  // An upstream that resets connections whose headers its parser refuses: each such request
  // forwarded would count as an upstream failure of a perfectly healthy endpoint.
  const resetting = await startLoggingUpstream({ maxHeaderSize: 16384, resetOnClientError: true });
  t.after(() => resetting.close());
  const gw2 = await startGateway({
    node: { id: 'sec-limits-outlier', region: 'jp' },
    listeners: [{ name: 'https', address: '127.0.0.1:0', protocol: 'https', tls: devTls() }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{
      name: 'logged',
      endpoints: [resetting.address],
      outlierDetection: { consecutive5xx: 3, consecutiveGatewayFailure: 3, maxEjectionPercent: 100, baseEjectionTime: '60s' },
    }],
    routes: [{ name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'logged', weight: 1 }] }],
  });
  t.after(() => gw2.stop());
  const session = h2Connect(gw2.ready.listeners[0]!.port);
  try {
    for (let i = 0; i < 12; i++) {
      await h2Request(session, { ':method': 'GET', ':path': `/huge/${i}`, ':authority': 'api.svc.plus', ':scheme': 'https', 'x-huge': 'h'.repeat(30_000) }).catch(() => null);
    }
  } finally {
    session.destroy();
  }
  assert.deepEqual(resetting.log.map((r) => r.url), [], 'the gateway refused them itself');
  assert.deepEqual(resetting.clientErrors, [], 'no oversize request reached the upstream\'s parser');
  const metrics = await (await fetch(`${gw2.adminUrl()}/metrics`)).text();
  const ejected = metrics.split('\n').filter((l) => /^edgeplane_outlier_ejections(_skipped)?_total\{[^}]*cluster="logged"/.test(l) && !l.endsWith(' 0'));
  assert.deepEqual(ejected, [], 'no outlier detection fired for the endpoint');
  const s2 = h2Connect(gw2.ready.listeners[0]!.port);
  try {
    const ok = await h2Request(s2, { ':method': 'GET', ':path': '/after', ':authority': 'api.svc.plus', ':scheme': 'https' });
    assert.equal(ok.status, 200, 'the endpoint still serves');
  } finally {
    s2.destroy();
  }
});

test('finding 2: an idle h2 session is closed after keepAliveTimeout', async () => {
  const session = h2Connect(httpsPort);
  const closed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 20_000);
    session.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  const r = await h2Request(session, { ':method': 'GET', ':path': '/once', ':authority': 'api.svc.plus', ':scheme': 'https' });
  assert.equal(r.status, 200);
  try {
    assert.equal(await closed, true, 'the gateway closed the idle session');
  } finally {
    session.destroy();
  }
});

test('an h2 session that never sends a request is closed after headersTimeout', async () => {
  const session = h2Connect(httpsPort);
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 20_000);
    session.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  session.destroy();
  assert.equal(closed, true);
});

test('an h2 request whose body never ends gets 408 after requestTimeout', async () => {
  const session = h2Connect(httpsPort);
  try {
    const status = await new Promise<number | string>((resolve) => {
      const stream = session.request({ ':method': 'POST', ':path': '/slow-body', ':authority': 'api.svc.plus', ':scheme': 'https' }, { endStream: false });
      stream.write('partial');
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.on('error', (err) => resolve(`error ${err.message}`));
      stream.on('close', () => resolve(`closed ${stream.rstCode}`));
    });
    assert.ok(status === 408 || String(status).startsWith('closed'), String(status));
  } finally {
    session.destroy();
  }
});

test('rapid reset: a client cancelling streams faster than maxResetsPerSecond loses its session (GOAWAY ENHANCE_YOUR_CALM)', async () => {
  // Raw frames, as the CVE-2023-44487 proofs of concept send them: 400 HEADERS + RST_STREAM pairs in one
  // write, four times the default budget of 100 a second, so they land in one or two of the gateway's
  // one-second windows however loaded the machine is (a client library queues and paces them itself).
  const attacker = await connectRawH2(httpsPort);
  try {
    attacker.requestAndCancel(400);
    await waitFor(() => attacker.goawayCode !== null || attacker.closed, { timeoutMs: 10_000, what: 'the session to be closed by the gateway' });
    assert.equal(attacker.goawayCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  } finally {
    attacker.destroy();
  }
});

test('cancelling streams within maxResetsPerSecond keeps the session', async () => {
  const attacker = await connectRawH2(httpsPort);
  try {
    attacker.requestAndCancel(50);
    // The PING's ACK comes after the gateway processed every frame before it.
    await attacker.ping();
    assert.equal(attacker.goawayCode, null, 'no GOAWAY for 50 cancels');
    assert.equal(attacker.closed, false);
  } finally {
    attacker.destroy();
  }
});

for (const flood of ['PING', 'SETTINGS'] as const) {
  test(`${flood} flood: a client sending more than 20 ${flood} frames a second loses its session (GOAWAY ENHANCE_YOUR_CALM)`, async () => {
    const session = h2Connect(httpsPort, 'api.svc.plus', {}, { maxOutstandingPings: 1000, maxOutstandingSettings: 1000 } as http2.ClientSessionOptions);
    let goaway: number | null = null;
    session.on('goaway', (code: number) => (goaway = code));
    await new Promise<void>((resolve) => session.once('connect', () => resolve()));
    for (let i = 0; i < 200 && !session.destroyed && !session.closed && goaway === null; i++) {
      try {
        if (flood === 'PING') session.ping(() => {});
        else session.settings({ enablePush: false });
      } catch {
        break;
      }
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => goaway !== null || session.destroyed, { timeoutMs: 10_000, what: 'the session to be closed by the gateway' });
    session.destroy();
    assert.equal(goaway, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  });
}

test('headers beyond maxHeaderCount get 431 (h1)', async () => {
  const many = Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join('');
  const res = parseRawResponse(await rawHttp(httpPort, `GET /many HTTP/1.1\r\nHost: api.svc.plus\r\n${many}Connection: close\r\n\r\n`));
  assert.equal(res.status, 431);
});

test('per-client connection cap: the connections over maxConnectionsPerClient are closed at once', async () => {
  const capped = await startGateway({
    node: { id: 'sec-caps', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http', maxConnectionsPerClient: 5 }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'logged', endpoints: [upstream.address] }],
    routes: [{ name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'logged', weight: 1 }] }],
  });
  const sockets = [];
  try {
    const port = capped.ready.listeners[0]!.port;
    for (let i = 0; i < 8; i++) sockets.push(await openSilent(port));
    const closed = await Promise.all(sockets.map((s) => closedByPeer(s, 3000)));
    assert.deepEqual(closed, [false, false, false, false, false, true, true, true]);
  } finally {
    for (const s of sockets) s.destroy();
    await capped.stop();
  }
});
