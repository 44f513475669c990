// Issue #20 finding 1: a TLS client that never finishes the handshake was never
// closed, and once it left, its socket stayed in CLOSE-WAIT (an fd leaked per scan).
// Uses the default handshake timeout on purpose: the default is what protects a stock config.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startGateway, devTls, type GatewayProcess } from './lib/gateway.ts';
import { startLoggingUpstream, type LoggingUpstream } from './lib/logging-upstream.ts';
import { fdCount, openSilent, closedByPeer } from './lib/clients.ts';
import { waitFor } from '../helpers/wait.ts';

let upstream: LoggingUpstream;
let gw: GatewayProcess;
let port: number;
const opened: Socket[] = [];

before(async () => {
  upstream = await startLoggingUpstream();
  gw = await startGateway({
    node: { id: 'sec-tls-handshake', region: 'jp' },
    listeners: [{ name: 'https', address: '127.0.0.1:0', protocol: 'https', tls: devTls() }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'logged', endpoints: [upstream.address] }],
    routes: [{ name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'logged', weight: 1 }] }],
  });
  port = gw.ready.listeners[0]!.port;
});

after(async () => {
  for (const s of opened) s.destroy();
  await gw?.stop();
  await upstream?.close();
});

test('finding 1: silent TLS connections are closed by the (default 10s) handshake timeout', async (t) => {
  if (fdCount(gw.ready.pid) === null) return t.skip('needs /proc/PID/fd (Linux)');
  const sockets = await Promise.all(Array.from({ length: 20 }, () => openSilent(port)));
  opened.push(...sockets);
  const closed = await Promise.all(sockets.map((s) => closedByPeer(s, 40_000)));
  assert.equal(closed.filter(Boolean).length, 20, 'every silent connection was closed by the gateway');
});

test('finding 1: clients that leave mid-handshake leave no fd behind (no CLOSE-WAIT)', async (t) => {
  const pid = gw.ready.pid;
  const baseline = fdCount(pid);
  if (baseline === null) return t.skip('needs /proc/PID/fd (Linux)');
  const sockets = await Promise.all(Array.from({ length: 20 }, () => openSilent(port)));
  // Half a ClientHello, then gone: the gateway sees a FIN in the middle of the handshake.
  for (const s of sockets) s.end(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xf0, 0x01]));
  await waitFor(() => sockets.every((s) => s.destroyed || s.readableEnded) || null, { timeoutMs: 40_000, what: 'client sockets closed' }).catch(() => {});
  await waitFor(() => (fdCount(pid) ?? Infinity) <= baseline + 2, { timeoutMs: 40_000, intervalMs: 200, what: `gateway fds back to ${baseline} (now ${fdCount(pid)})` });
});
