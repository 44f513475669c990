import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.ts';
import { MAX_BUCKETS, ResponseRateLimiter, RrlCategory, RrlVerdict, rrlSettings } from '../../../src/dns/rrl.ts';

const { SEND, DROP, SLIP } = RrlVerdict;

test('defaults: on for NXDOMAIN, errors and large answers; normal answers unlimited', () => {
  const s = rrlSettings(undefined);
  assert.equal(s.enabled, true);
  assert.deepEqual(s.rates, [0, 20, 20, 20]);
  const rrl = new ResponseRateLimiter(s, new ManualClock());
  assert.equal(rrl.limits(RrlCategory.NORMAL), false);
  assert.equal(rrl.limits(RrlCategory.NXDOMAIN), true);
  assert.equal(rrl.categorize(3, 50), RrlCategory.NXDOMAIN);
  assert.equal(rrl.categorize(5, 50), RrlCategory.ERROR);
  assert.equal(rrl.categorize(0, 513), RrlCategory.LARGE);
  assert.equal(rrl.categorize(0, 512), RrlCategory.NORMAL);
  for (let i = 0; i < 1000; i++) assert.equal(rrl.check('192.0.2.1', RrlCategory.NORMAL), SEND);
});

test('token bucket per /24: burst of `rate`, then every slip-th limited answer slips, the rest drop; refills with time', () => {
  const clock = new ManualClock();
  const rrl = new ResponseRateLimiter(rrlSettings({ nxdomainsPerSecond: 5, slip: 2 }), clock);
  const verdicts = Array.from({ length: 9 }, () => rrl.check('192.0.2.1', RrlCategory.NXDOMAIN));
  assert.deepEqual(verdicts, [SEND, SEND, SEND, SEND, SEND, DROP, SLIP, DROP, SLIP]);
  // same /24, same bucket
  assert.notEqual(rrl.check('192.0.2.200', RrlCategory.NXDOMAIN), SEND);
  // another /24 and another category are separate
  assert.equal(rrl.check('192.0.3.1', RrlCategory.NXDOMAIN), SEND);
  assert.equal(rrl.check('192.0.2.1', RrlCategory.ERROR), SEND);
  clock.advance(400); // 2 tokens back
  assert.deepEqual([rrl.check('192.0.2.1', RrlCategory.NXDOMAIN), rrl.check('192.0.2.1', RrlCategory.NXDOMAIN), rrl.check('192.0.2.1', RrlCategory.NXDOMAIN)].map((v) => v === SEND), [true, true, false]);
  clock.advance(60_000);
  assert.equal(Array.from({ length: 6 }, () => rrl.check('192.0.2.1', RrlCategory.NXDOMAIN)).filter((v) => v === SEND).length, 5, 'a full bucket holds one second');
});

test('slip 0 drops everything over the limit; IPv6 groups by /56; exempt networks are never limited; disabled is off', () => {
  const clock = new ManualClock();
  const rrl = new ResponseRateLimiter(rrlSettings({ errorsPerSecond: 1, slip: 0, exempt: ['10.0.0.0/8', '2001:db8:ffff::/48'] }), clock);
  assert.equal(rrl.check('192.0.2.1', RrlCategory.ERROR), SEND);
  for (let i = 0; i < 10; i++) assert.equal(rrl.check('192.0.2.1', RrlCategory.ERROR), DROP);
  assert.equal(rrl.check('2001:db8:1:100::1', RrlCategory.ERROR), SEND);
  assert.equal(rrl.check('2001:db8:1:1ff::2', RrlCategory.ERROR), DROP, 'same /56');
  assert.equal(rrl.check('2001:db8:1:200::1', RrlCategory.ERROR), SEND, 'next /56');
  for (let i = 0; i < 10; i++) assert.equal(rrl.check('10.9.9.9', RrlCategory.ERROR), SEND);
  for (let i = 0; i < 10; i++) assert.equal(rrl.check('2001:db8:ffff::1', RrlCategory.ERROR), SEND);
  assert.equal(rrl.check('::ffff:10.9.9.9', RrlCategory.ERROR), SEND, 'v4-mapped addresses are matched as IPv4');
  const off = new ResponseRateLimiter(rrlSettings({ enabled: false }), clock);
  assert.equal(off.limits(RrlCategory.NXDOMAIN), false);
  for (let i = 0; i < 100; i++) assert.equal(off.check('192.0.2.1', RrlCategory.NXDOMAIN), SEND);
});

test('memory stays bounded under a spoofed-source flood', () => {
  const clock = new ManualClock();
  const rrl = new ResponseRateLimiter(rrlSettings({ nxdomainsPerSecond: 1 }), clock);
  let peak = 0;
  for (let i = 0; i < MAX_BUCKETS + 20_000; i++) {
    rrl.check(`${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}.1`, RrlCategory.NXDOMAIN);
    peak = Math.max(peak, rrl.bucketCount);
  }
  assert.ok(peak <= MAX_BUCKETS, `peak ${peak}`);
  assert.ok(rrl.bucketCount < MAX_BUCKETS, 'pruned');
  assert.equal(rrl.check('203.0.113.1', RrlCategory.NXDOMAIN), SEND);
  assert.equal(rrl.check('203.0.113.1', RrlCategory.NXDOMAIN), DROP);
});
