import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeMessage,
  decodePushPull,
  encodeCompound,
  encodeMessage,
  encodePushPull,
  splitPacket,
  type Message,
} from '../../../src/gossip/codec.ts';
import { Envelope } from '../../../src/gossip/envelope.ts';
import { GossipAuthError, GossipConfigError, GossipDecodeError } from '../../../src/gossip/errors.ts';
import { Keyring, generateKey } from '../../../src/gossip/keyring.ts';
import { seededRng, randomInt } from '../../../src/util/rng.ts';

const samples: Message[] = [
  { type: 'ping', seq: 7, node: 'jp-gw-1' },
  { type: 'indirect-ping', seq: 4294967295, node: 'sg-gw-1', addr: '127.0.0.3:7946', nack: true },
  { type: 'ack', seq: 1 },
  { type: 'nack', seq: 2 },
  { type: 'suspect', incarnation: 12, node: 'a', from: 'b' },
  { type: 'alive', incarnation: 3, node: 'jp-gw-1', addr: '[::1]:7946', region: 'jp' },
  { type: 'dead', incarnation: 9, node: 'a', from: 'a' },
  {
    type: 'health',
    record: { node: 'jp-gw-1', region: 'jp', version: 1_700_000_000_123, health: { state: 'degraded', healthy: 0.5, names: { 'api.svc.plus': 0.75, 'www.svc.plus': 1 }, at: 1_700_000_000_000 } },
  },
];

test('every message type round-trips', () => {
  for (const m of samples) assert.deepEqual(decodeMessage(encodeMessage(m)), m);
});

test('compound packets split back into their parts', () => {
  const parts = samples.map(encodeMessage);
  const back = splitPacket(encodeCompound(parts)).map(decodeMessage);
  assert.deepEqual(back, samples);
  assert.equal(splitPacket(parts[0]!).length, 1);
});

test('push-pull round-trips whole state', () => {
  const pp = {
    join: true,
    nodes: [
      { name: 'a', addr: '127.0.0.2:1', region: 'jp', incarnation: 4, state: 'alive' as const },
      { name: 'b', addr: '127.0.0.3:1', region: 'sg', incarnation: 2, state: 'left' as const },
    ],
    health: [(samples[7] as Extract<Message, { type: 'health' }>).record],
  };
  assert.deepEqual(decodePushPull(encodePushPull(pp)), pp);
});

test('garbage, truncation and lying counts only ever raise GossipDecodeError', () => {
  const rng = seededRng(42);
  const valid = [...samples.map(encodeMessage), encodeCompound(samples.map(encodeMessage))];
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    let buf: Uint8Array;
    const kind = i % 3;
    if (kind === 0) {
      buf = new Uint8Array(randomInt(rng, 80));
      for (let j = 0; j < buf.length; j++) buf[j] = randomInt(rng, 256);
    } else {
      const base = valid[randomInt(rng, valid.length)]!;
      buf = Uint8Array.from(base);
      if (kind === 1) buf = buf.subarray(0, randomInt(rng, buf.length));
      else for (let f = 0; f < 3; f++) buf[randomInt(rng, buf.length)] = randomInt(rng, 256);
    }
    try {
      splitPacket(buf).map(decodeMessage);
      decoded++;
    } catch (err) {
      assert.ok(err instanceof GossipDecodeError, `unexpected ${(err as Error).name}: ${(err as Error).message}`);
    }
    try {
      decodePushPull(buf);
    } catch (err) {
      assert.ok(err instanceof GossipDecodeError);
    }
  }
  assert.ok(decoded > 0, 'some mutations still decode (e.g. a changed seq)');
});

test('a push-pull whose counts lie fails before allocating', () => {
  const buf = Buffer.alloc(10);
  buf[0] = 9;
  buf.writeUInt32BE(90_000, 2);
  assert.throws(() => decodePushPull(buf), GossipDecodeError);
  buf.writeUInt32BE(0xffffffff, 2);
  assert.throws(() => decodePushPull(buf), GossipDecodeError);
});

test('keyring: the first key encrypts, every key decrypts, rotation in three steps', () => {
  const k1 = generateKey(32);
  const k2 = generateKey(16);
  const aad = Buffer.from('edgeplane');
  const a = new Keyring([k1]);
  const b = new Keyring([k1, k2]);
  const msg = Buffer.from('hello');
  assert.deepEqual(Buffer.from(b.decrypt(a.encrypt(msg, aad), aad)), msg);
  // step 1: install k2 everywhere (b has it), step 2: b encrypts with k2, a must install it to read
  b.useKey(k2);
  assert.throws(() => a.decrypt(b.encrypt(msg, aad), aad), GossipAuthError);
  a.addKey(k2);
  assert.deepEqual(Buffer.from(a.decrypt(b.encrypt(msg, aad), aad)), msg);
  // step 3: remove k1
  b.removeKey(k1);
  assert.throws(() => b.removeKey(k2), GossipConfigError);
  assert.deepEqual(JSON.stringify(b), '{"keys":1}', 'keys never serialized');
});

test('keyring rejects bad keys', () => {
  assert.throws(() => new Keyring([]), GossipConfigError);
  assert.throws(() => new Keyring(['not base64!']), GossipConfigError);
  assert.throws(() => new Keyring([Buffer.alloc(20).toString('base64')]), GossipConfigError);
});

test('envelope: label is authenticated, wrong keys and tampering are auth errors', () => {
  const key = generateKey();
  const e1 = new Envelope('prod', new Keyring([key]));
  const payload = encodeMessage(samples[0]!);
  const sealed = e1.seal(payload);
  assert.deepEqual(Buffer.from(e1.open(sealed)), Buffer.from(payload));
  assert.throws(() => new Envelope('staging', new Keyring([key])).open(sealed), GossipAuthError);
  assert.throws(() => new Envelope('prod', new Keyring([generateKey()])).open(sealed), GossipAuthError);
  assert.throws(() => new Envelope('prod').open(sealed), GossipAuthError, 'encrypted packet at a keyless member');
  const tampered = Uint8Array.from(sealed);
  tampered[tampered.length - 20]! ^= 1;
  assert.throws(() => e1.open(tampered), GossipAuthError);
  // A label header rewritten to the right label but with AAD mismatch still fails: the label is inside the tag.
  const plain = new Envelope('prod');
  const p = plain.seal(payload);
  assert.deepEqual(Buffer.from(plain.open(p)), Buffer.from(payload));
  const bad = Uint8Array.from(p);
  bad[bad.length - 1]! ^= 0xff;
  assert.throws(() => plain.open(bad), GossipDecodeError, 'CRC catches corruption of unencrypted packets');
  assert.throws(() => plain.open(new Uint8Array([1, 2, 3])), (e) => e instanceof GossipAuthError || e instanceof GossipDecodeError);
  assert.ok(e1.overhead > plain.overhead);
});
