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

test('finding 1: silent TLS connections are closed by the (default 10s) handshake timeout and leave no fd behind', async (t) => {
  const pid = gw.ready.pid;
  const baseline = fdCount(pid);
  if (baseline === null) return t.skip('needs /proc/PID/fd (Linux)');
  const sockets = await Promise.all(Array.from({ length: 20 }, () => openSilent(port)));
  opened.push(...sockets);
  // The old listener never closed them (after its 120s handshake timeout it tried to write an HTTP 400
  // into the unfinished TLS session and waited for a 'finish' that never came): CLOSE-WAIT once they left.
  const closed = await Promise.all(sockets.map((s) => closedByPeer(s, 40_000)));
  assert.equal(closed.filter(Boolean).length, 20, 'every silent connection was closed by the gateway');
  for (const s of sockets) s.destroy();
  await waitFor(() => (fdCount(pid) ?? Infinity) <= baseline + 2, { timeoutMs: 30_000, intervalMs: 200, what: `gateway fds back to ${baseline} (now ${fdCount(pid)})` });
});

// A companion guard: failed handshakes (the cases the old code already destroyed) must stay leak-free
// now that the TLS listener is new code.
test('clients that fail the handshake and leave leave no fd behind (no CLOSE-WAIT)', async (t) => {
  const pid = gw.ready.pid;
  const baseline = fdCount(pid);
  if (baseline === null) return t.skip('needs /proc/PID/fd (Linux)');
  const sockets = await Promise.all(Array.from({ length: 20 }, () => openSilent(port)));
  // What scanners send: plain HTTP to the TLS port (a failed handshake the old code answered with
  // an HTTP 400 it could never write), or half a ClientHello; then they are gone.
  sockets.forEach((s, i) => s.end(i % 2 === 0 ? 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' : Buffer.from([0x16, 0x03, 0x01, 0x00, 0xf0, 0x01])));
  await waitFor(() => sockets.every((s) => s.destroyed || s.readableEnded) || null, { timeoutMs: 40_000, what: 'client sockets closed' }).catch(() => {});
  await waitFor(() => (fdCount(pid) ?? Infinity) <= baseline + 2, { timeoutMs: 40_000, intervalMs: 200, what: `gateway fds back to ${baseline} (now ${fdCount(pid)})` });
});
