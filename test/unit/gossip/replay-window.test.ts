import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.ts';
import { ReplayWindow, GossipReplayError } from '../../../src/gossip/replay-window.ts';
import { Envelope } from '../../../src/gossip/envelope.ts';
import { Keyring, generateKey } from '../../../src/gossip/keyring.ts';
import { GossipAuthError } from '../../../src/gossip/errors.ts';

const nonce = (i: number) => {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(i, 8);
  return b;
};
const reason = (fn: () => void) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof GossipReplayError) return e.reason;
    throw e;
  }
  return 'accepted';
};

test('replay window: each nonce once, only within the skew tolerance, nothing from before the start', () => {
  const clock = new ManualClock(0, 1_000_000);
  const w = new ReplayWindow({ now: () => clock.wallNow(), skewMs: 30_000 });
  const t0 = clock.wallNow();
  assert.equal(reason(() => w.admit(t0, nonce(1))), 'accepted');
  assert.equal(reason(() => w.admit(t0, nonce(1))), 'replayed');
  assert.equal(reason(() => w.admit(t0 + 29_000, nonce(2))), 'accepted', 'a peer 29 s ahead');
  assert.equal(reason(() => w.admit(t0 + 31_000, nonce(3))), 'clock_skew', 'a peer 31 s ahead');
  assert.equal(reason(() => w.admit(t0 - 1, nonce(4))), 'replayed', 'stamped before this member started');
  clock.advance(20_000);
  assert.equal(reason(() => w.admit(t0 + 5_000, nonce(5))), 'accepted', 'a peer 15 s behind');
  assert.equal(reason(() => w.admit(t0, nonce(1))), 'replayed', 'still remembered while its stamp is in the window');
  clock.advance(40_000);
  assert.equal(reason(() => w.admit(t0, nonce(1))), 'clock_skew', 'then refused by its stamp');
  assert.equal(reason(() => w.admit(clock.wallNow(), nonce(6))), 'accepted');
  // Memory follows the window: the old nonces are gone.
  assert.ok(w.size <= 3, `remembered ${w.size}`);
});

test('replay window: when full, the oldest are forgotten and everything as old is refused (never forget-and-accept)', () => {
  const clock = new ManualClock(0, 5_000_000);
  const w = new ReplayWindow({ now: () => clock.wallNow(), skewMs: 8_000, maxEntries: 4 });
  const t = clock.wallNow();
  for (let i = 0; i < 4; i++) w.admit(t + i * 1000, nonce(i));
  w.admit(t + 5000, nonce(10)); // evicts the slice holding t
  assert.equal(w.size, 4);
  assert.equal(reason(() => w.admit(t, nonce(0))), 'replayed', 'the forgotten nonce is not accepted again');
  assert.equal(reason(() => w.admit(t, nonce(99))), 'replayed', 'nor anything else that old');
  assert.equal(reason(() => w.admit(t + 6000, nonce(11))), 'accepted');
});

test('envelope: a sealed message opens once; a tampered timestamp fails authentication; a stale one is refused before decryption', () => {
  const clock = new ManualClock(0, 1_700_000_000_000);
  const now = () => clock.wallNow();
  const key = generateKey();
  const sender = new Envelope('prod', new Keyring([key]), { now });
  const receiver = new Envelope('prod', new Keyring([key]), { now, window: new ReplayWindow({ now }) });
  const m = sender.seal(Buffer.from('ping'));
  assert.equal(Buffer.from(receiver.open(m)).toString(), 'ping');
  assert.throws(() => receiver.open(m), (e: unknown) => e instanceof GossipReplayError && e.reason === 'replayed');
  // Moving the clear-text stamp forward (to dodge the window) breaks the tag.
  const moved = Buffer.from(sender.seal(Buffer.from('ping')));
  const at = moved.indexOf(2, 2 + 4); // version byte after the label header
  moved.writeBigUInt64BE(moved.readBigUInt64BE(at + 1) + 1n, at + 1);
  assert.throws(() => receiver.open(moved), GossipAuthError);
  const old = sender.seal(Buffer.from('ping'));
  clock.advance(31_000);
  assert.throws(() => receiver.open(old), (e: unknown) => e instanceof GossipReplayError && e.reason === 'clock_skew');
});
