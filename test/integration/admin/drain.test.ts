import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startGateway } from '../../helpers/gateway-process.ts';
import { startServer } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { call, gatewayConfig } from './support.ts';

/**
 * SIGTERM: /readyz turns 503 first, then the listener stops accepting and the
 * idle keep-alive connection is closed, while a slow request started before
 * the signal is still in flight; that request then completes with 200 and
 * the process exits 0. Ordering is shown by polling, never by timing.
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
  const gw = await startGateway(gatewayConfig([upstream.address], [upstream.address], { drain: { delay: '1s', timeout: '60s' } }));
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

  // The slow request, started before the signal.
  const slow = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/hold', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  await arrival;
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
  // ...and closes the idle keep-alive connection, while the slow request is still held upstream.
  await idleSocketClosed;
  release();
  const done = await slow;
  assert.deepEqual(done, { status: 200, body: '{"finished":true}' });
  assert.equal(await gw.stop('SIGTERM'), 0);
  agent.destroy();
});
