/**
 * Finding 9 of issue #20: the gossip push-pull port (TCP) buffered frames of
 * up to 32 MiB before anything was authenticated, took any number of
 * connections, and reset its timer on every byte: four connections took a
 * gateway's RSS from 107 MB to 220 MB, and a client trickling bytes held a
 * connection forever.
 *
 * Against a real gateway process (`local` profile: 2 s push-pull deadline)
 * over real sockets, from a client that does not hold the fleet's key.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { GossipAgent } from '../../src/gossip/agent.ts';
import { generateKey } from '../../src/gossip/keyring.ts';
import type { GatewayProcess } from '../helpers/gateway-process.ts';
import { waitFor } from '../helpers/wait.ts';
import { stopAndRemove } from './lib/control-admin.ts';
import { fleetMembers, openWatched, sendUntilClosed, startGossipGateway, type WatchedSocket } from './lib/control-gossip.ts';

const KEY = generateKey();
let gw: GatewayProcess;
let host: string;
let port: number;
const sockets: WatchedSocket[] = [];

before(async () => {
  ({ gw, host, port } = await startGossipGateway(KEY));
});
after(async () => {
  for (const s of sockets) s.sock.destroy();
  await stopAndRemove(gw);
});

test('a frame announcing 30 MiB from a client without the key is cut off at once, not buffered', async () => {
  const w = await openWatched(host, port);
  sockets.push(w);
  const prefix = Buffer.alloc(6 + 100, 0x41);
  prefix.writeUInt32BE(30 * 1024 * 1024, 0); // under the old 32 MiB cap
  prefix.writeUInt16BE(100, 4);
  w.sock.write(prefix);
  // 16 MiB of junk in 64 KiB pieces, 25 ms apart (~6.5 s): a server that buffers keeps reading it all.
  const written = await sendUntilClosed(w, Buffer.alloc(64 * 1024, 0x42), 256, 25);
  await waitFor(() => w.closed, { timeoutMs: 5000, what: 'the gateway to close the connection' }).catch(() => {});
  assert.ok(w.closed, `the gateway kept reading an unauthenticated frame (${written} bytes sent)`);
  assert.ok(written < 16 * 1024 * 1024, `the connection stayed open for all ${written} bytes`);
  assert.equal(w.received, 0, 'nothing is answered');
});

test('trickling bytes does not extend the push-pull deadline', async () => {
  const w = await openWatched(host, port);
  sockets.push(w);
  // A plausible frame (1000 bytes, 64-byte head) one byte every 250 ms: 40 bytes take 10 s, 5x the deadline.
  const frame = Buffer.alloc(40, 0x43);
  frame.writeUInt32BE(1000, 0);
  frame.writeUInt16BE(64, 4);
  let sent = 0;
  for (; sent < frame.length && !w.closed; sent++) {
    w.sock.write(frame.subarray(sent, sent + 1));
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(w.closed, `the connection was still open after trickling ${sent} bytes for ${(sent * 250) / 1000} s`);
  assert.ok(sent < frame.length);
});

test('connections over the per-client cap are closed on accept; other clients still push-pull', async () => {
  const opened: WatchedSocket[] = [];
  for (let i = 0; i < 20; i++) {
    const w = await openWatched(host, port);
    opened.push(w);
    sockets.push(w);
  }
  // The default cap is 8 per client address: the 12 opened after those are closed without a byte read.
  await waitFor(() => opened.slice(8).every((w) => w.closed), { timeoutMs: 1500, what: 'connections over the cap to be closed' }).catch(() => {});
  const closedEarly = opened.map((w, i) => (w.closed ? i : -1)).filter((i) => i >= 0);
  assert.ok(opened.slice(8).every((w) => w.closed), `closed: ${closedEarly.join(',')}`);
  assert.ok(opened.slice(0, 8).some((w) => !w.closed) || closedEarly.length === 20, 'the first 8 were served (until their deadline)');

  // While 127.0.0.1 holds its share, a member on 127.0.0.2 joins through a push-pull.
  const peer = new GossipAgent({ config: { bind: '127.0.0.2:0', keys: [KEY], profile: 'local' }, nodeId: 'peer-2', region: 'jp' });
  try {
    await peer.start();
    assert.equal(await peer.join([`${host}:${port}`]), 1);
    await waitFor(async () => (await fleetMembers(gw)).filter((m) => m.state === 'alive').length === 2, { timeoutMs: 10_000, what: 'the peer to be an alive member' });
  } finally {
    await peer.close();
  }
  // And every held connection is closed by the deadline, whatever it sent.
  await waitFor(() => opened.every((w) => w.closed), { timeoutMs: 10_000, what: 'the deadline to close every held connection' });
  assert.ok(opened.every((w) => w.received === 0));
});
