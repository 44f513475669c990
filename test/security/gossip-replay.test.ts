/**
 * Finding 10 of issue #20: gossip messages captured on the wire and sent
 * again later were answered (42 of 42 replayed pings got an ack). Membership
 * itself is protected by incarnations, but a replayed probe makes a gateway
 * vouch for a member that may be gone, and a replayed push-pull makes it
 * send its whole (encrypted) state to whoever asks.
 *
 * A real member (GossipAgent over UDP + TCP) joins a real gateway process
 * through a TCP relay; its datagrams and the relay's streams are the capture.
 * The replays come from another socket, as an attacker's would.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { GossipAgent } from '../../src/gossip/agent.ts';
import { decodeMessage, encodeMessage, splitPacket, type Message } from '../../src/gossip/codec.ts';
import { Envelope } from '../../src/gossip/envelope.ts';
import { Keyring, generateKey } from '../../src/gossip/keyring.ts';
import type { GatewayProcess } from '../helpers/gateway-process.ts';
import { waitFor } from '../helpers/wait.ts';
import { stopAndRemove } from './lib/control-admin.ts';
import { GOSSIP_NODE, RecordingTransport, fleetMembers, openWatched, startGossipGateway, tcpRelay } from './lib/control-gossip.ts';

const KEY = generateKey();
const LABEL = 'edgeplane';
let gw: GatewayProcess;
let target: { host: string; port: number };
let member: GossipAgent | undefined;
let recorder: RecordingTransport;
let relay: Awaited<ReturnType<typeof tcpRelay>>;
let attacker: UdpSocket;
const answers: Message[][] = [];
// Reads what the gateway answers (the attacker holds the key for this check only: it never needs it to replay).
const reader = new Envelope(LABEL, new Keyring([KEY]));

before(async () => {
  const started = await startGossipGateway(KEY);
  gw = started.gw;
  target = { host: started.host, port: started.port };
  relay = await tcpRelay(target);
  recorder = new RecordingTransport('127.0.0.3:0');
  member = new GossipAgent({ config: { bind: '127.0.0.3:0', keys: [KEY], profile: 'local' }, nodeId: 'captured-member', region: 'jp', transport: recorder });
  await member.start();
  assert.equal(await member.join([relay.address]), 1);
  await waitFor(async () => (await fleetMembers(gw)).filter((m) => m.state === 'alive').length === 2, { timeoutMs: 15_000, what: 'the member to join' });
  attacker = createSocket('udp4');
  attacker.on('message', (msg) => {
    try {
      answers.push(splitPacket(reader.open(msg)).map(decodeMessage));
    } catch {
      answers.push([]);
    }
  });
  await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', r));
});

after(async () => {
  await member?.close();
  await relay?.close();
  attacker?.close();
  await stopAndRemove(gw);
});

const isPingToGateway = (data: Buffer): number | undefined => {
  try {
    const ping = splitPacket(reader.open(data)).map(decodeMessage).find((m) => m.type === 'ping' && m.node === GOSSIP_NODE);
    return ping?.type === 'ping' ? ping.seq : undefined;
  } catch {
    return undefined;
  }
};

test('captured pings replayed later are not answered', async () => {
  const gossipAddr = `${target.host}:${target.port}`;
  await waitFor(() => recorder.sent.filter((p) => p.to === gossipAddr && isPingToGateway(p.data) !== undefined).length >= 5, { timeoutMs: 15_000, what: 'five captured pings' });
  const pings = recorder.sent.filter((p) => p.to === gossipAddr && isPingToGateway(p.data) !== undefined).slice(0, 5);
  const replayedSeqs = new Set(pings.map((p) => isPingToGateway(p.data)!));
  // The member leaves: what it sent can only come from the capture now.
  await member!.close();
  member = undefined;
  for (const p of pings) attacker.send(p.data, target.port, target.host);
  // Control: a fresh ping from the same socket is answered. Datagrams are handled in order, so once
  // its ack is in, an answer to any replay sent before it would be in too.
  const fresh = new Envelope(LABEL, new Keyring([KEY])).seal(encodeMessage({ type: 'ping', seq: 4_000_000_000, node: GOSSIP_NODE }));
  attacker.send(fresh, target.port, target.host);
  await waitFor(() => answers.some((msgs) => msgs.some((m) => m.type === 'ack' && m.seq === 4_000_000_000)), { timeoutMs: 10_000, what: 'the ack of the fresh ping' });
  const acked = answers.flat().filter((m) => m.type === 'ack' && replayedSeqs.has(m.seq));
  assert.equal(acked.length, 0, `${acked.length} of ${pings.length} replayed pings were answered`);
});

test('a captured push-pull stream replayed later is not answered', async () => {
  const stream = relay.captured.find((chunks) => chunks.length > 0);
  assert.ok(stream, 'the join went through the relay');
  const bytes = Buffer.concat(stream);
  const w = await openWatched(target.host, target.port);
  w.sock.write(bytes);
  await waitFor(() => w.closed, { timeoutMs: 10_000, what: 'the gateway to close the replayed stream' });
  assert.equal(w.received, 0, `the gateway answered a replayed push-pull with ${w.received} bytes of its state`);
});
