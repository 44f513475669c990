import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BroadcastQueue } from '../../../src/gossip/broadcast-queue.ts';

const msg = (s: string) => Buffer.from(s);

test('each broadcast is sent retransmitLimit times, then dropped and reported done', () => {
  let done = 0;
  const q = new BroadcastQueue(() => 3);
  q.queue({ key: 'a', message: msg('aaaa'), onDone: () => done++ });
  for (let i = 0; i < 3; i++) assert.equal(q.take(2, 1000).length, 1);
  assert.equal(q.take(2, 1000).length, 0);
  assert.equal(done, 1);
  assert.equal(q.length, 0);
});

test('a newer broadcast with the same key invalidates the older one', () => {
  let done = 0;
  const q = new BroadcastQueue(() => 3);
  q.queue({ key: 'n1', message: msg('suspect'), onDone: () => done++ });
  q.queue({ key: 'n1', message: msg('alive') });
  assert.equal(done, 1);
  assert.deepEqual(q.take(2, 1000).map(String), ['alive']);
});

test('least transmitted first, newest first among equals, within the byte limit', () => {
  const q = new BroadcastQueue(() => 10);
  q.queue({ key: 'a', message: msg('a'.repeat(10)) });
  q.queue({ key: 'b', message: msg('b'.repeat(10)) });
  assert.deepEqual(q.take(2, 12).map((b) => String(b)[0]), ['b']);
  // b was sent once, a never: a goes first now
  assert.deepEqual(q.take(2, 12).map((b) => String(b)[0]), ['a']);
  q.queue({ key: 'c', message: msg('c'.repeat(10)) });
  assert.deepEqual(q.take(2, 100).map((b) => String(b)[0]), ['c', 'b', 'a']);
  // Nothing bigger than the limit is ever returned.
  q.queue({ key: 'big', message: msg('x'.repeat(500)) });
  const out = q.take(2, 100);
  assert.ok(out.reduce((s, m) => s + 2 + m.length, 0) <= 100);
  assert.ok(!out.some((m) => m.length === 500));
});

test('the retransmit limit is re-read on every draw (it follows the cluster size)', () => {
  let limit = 1;
  const q = new BroadcastQueue(() => limit);
  q.queue({ key: 'a', message: msg('a') });
  limit = 2;
  q.take(2, 100);
  assert.equal(q.length, 1);
  q.take(2, 100);
  assert.equal(q.length, 0);
});

test('depth is bounded', () => {
  const q = new BroadcastQueue(() => 5, 10);
  for (let i = 0; i < 50; i++) q.queue({ key: `k${i}`, message: msg(`m${i}`) });
  assert.equal(q.length, 10);
});
