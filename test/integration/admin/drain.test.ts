import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, repoRoot } from '../../helpers/gateway-process.ts';
import { startServer } from '../../helpers/upstreams.ts';
import { waitFor, within } from '../../helpers/wait.ts';
import { call, gatewayConfig } from './support.ts';

/**
 * SIGTERM: /readyz turns 503 first, then the listener stops accepting, the
 * idle keep-alive connection is closed and the HTTP/2 session gets GOAWAY,
 * while a slow request started before the signal is still in flight; that
 * request then completes with 200 and the process exits 0. Ordering is shown
 * by polling, never by timing.
 */
test('graceful drain completes the request in flight and exits 0', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let arrived!: () => void;
  const arrival = new Promise<void>((r) => (arrived = r));
  const upstream = await startServer((req, res) => {
    if (req.url === '/hold') {
      arrived();
      void released.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"finished":true}'));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  t.after(() => upstream.close());
  const certs = join(repoRoot, 'certs-dev');
  const config = gatewayConfig([upstream.address], [upstream.address], { drain: { delay: '1s', timeout: '60s' } });
  (config.listeners as unknown[]).push({ name: 'h2', address: '127.0.0.1:0', protocol: 'https', tls: { certificates: [{ cert: join(certs, 'server.crt'), key: join(certs, 'server.key') }], http2: true } });
  const gw = await startGateway(config);
  t.after(() => gw.stop('SIGKILL'));
  const { port } = new URL(gw.url('http'));

  // An idle keep-alive connection that the drain must close politely.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const idleSocketClosed = new Promise<void>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => undefined);
    });
    req.on('socket', (s) => s.once('close', () => resolve()));
  });

  // An HTTP/2 session with one finished request, that must get GOAWAY.
  const h2Port = gw.ready.listeners.find((l) => l.name === 'h2')!.port;
  const session = http2.connect(`https://localhost:${h2Port}`, { ca: readFileSync(join(certs, 'ca.crt')) });
  t.after(() => session.destroy());
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  session.on('error', () => undefined); // surfaces through the request below
  await within(new Promise<void>((resolve, reject) => {
    const s = session.request({ ':path': '/' });
    s.on('response', (h) => (h[':status'] === 200 ? undefined : reject(new Error(`h2 status ${h[':status']}`))));
    s.resume();
    s.on('end', resolve);
    s.on('error', reject);
  }), 'the HTTP/2 request before the drain');

  // The slow request, started before the signal.
  const slow = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/hold', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  await within(arrival, 'the slow request to reach the upstream');
  assert.equal((await call(gw, 'GET', '/readyz', { token: null })).status, 200);

  gw.proc.kill('SIGTERM');
  await waitFor(async () => (await call(gw, 'GET', '/readyz', { token: null })).status === 503, { what: '/readyz to turn 503' });
  // After drain.delay the listener stops accepting new connections...
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: Number(port) });
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => resolve(true));
      }),
    { timeoutMs: 15_000, what: 'the listener to stop accepting' },
  );
  // ...closes the idle keep-alive connection and sends GOAWAY, while the slow request is still held upstream.
  await within(idleSocketClosed, 'the idle keep-alive connection to be closed');
  await within(goaway, 'GOAWAY on the HTTP/2 session');
  release();
  const done = await within(slow, 'the slow request to complete');
  assert.deepEqual(done, { status: 200, body: '{"finished":true}' });
  assert.equal(await gw.stop('SIGTERM'), 0);
  agent.destroy();
});
