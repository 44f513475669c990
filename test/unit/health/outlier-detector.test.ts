import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/util/clock.ts';
import { seededRng } from '../../../src/util/rng.ts';
import { OutlierDetector, type EjectionReason } from '../../../src/health/outlier-detector.ts';
import { TrackedEndpoint, type OutcomeSink } from '../../../src/health/endpoint-state.ts';
import { resolveOutlier } from '../../../src/health/options.ts';
import type { NonNullableOutlier } from './types-helper.ts';

function setup(config: NonNullableOutlier, n = 3) {
  const clock = new ManualClock();
  const hosts = Array.from({ length: n }, (_, i) => {
    const ep = new TrackedEndpoint('c', `10.0.0.${i + 1}:80`, `10.0.0.${i + 1}`, 80);
    ep.sink = {} as OutcomeSink; // "in a cluster"
    return ep;
  });
  const events: string[] = [];
  const skipped: string[] = [];
  const detector = new OutlierDetector(resolveOutlier(config), {
    clock,
    rng: seededRng(1),
    hosts: () => hosts,
    onEject: (ep, reason: EjectionReason, ms) => events.push(`eject ${ep.address} ${reason} ${ms}`),
    onUneject: (ep, reason) => events.push(`uneject ${ep.address} ${reason}`),
    onNotEjected: (ep, reason, why) => skipped.push(`${ep.address} ${reason} ${why}`),
  });
  detector.start();
  return { clock, hosts, events, skipped, detector };
}

test('consecutive 5xx: the 5th failure ejects right away (off the request stack), a success in between resets', () => {
  const { clock, hosts, events, detector } = setup({ consecutive5xx: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 });
  const [a] = hosts;
  for (let i = 0; i < 4; i++) detector.record(a!, 'http-5xx');
  detector.record(a!, 'success');
  for (let i = 0; i < 4; i++) detector.record(a!, 'http-5xx');
  clock.advance(0);
  assert.deepEqual(events, [], '4 + 4 with a success between: no ejection');
  detector.record(a!, 'http-5xx');
  assert.deepEqual(events, [], 'not inside record() itself');
  clock.advance(0);
  assert.deepEqual(events, ['eject 10.0.0.1:80 consecutive-5xx 30000']);
  assert.equal(a!.ejection?.reason, 'consecutive-5xx');
  assert.equal(a!.consecutive5xx, 0, 'counters reset on ejection');
  clock.advance(29_999);
  assert.equal(events.length, 1);
  clock.advance(1);
  assert.deepEqual(events.slice(1), ['uneject 10.0.0.1:80 ejection time elapsed']);
  assert.equal(a!.ejection, null);
});

test('gateway failures: enforced when configured, counted as 5xx too; a 500 resets the gateway counter', () => {
  const { clock, hosts, events, detector } = setup({ consecutive5xx: 100, consecutiveGatewayFailure: 3, maxEjectionPercent: 100 });
  const [a, b] = hosts;
  detector.record(a!, 'gateway-error');
  detector.record(a!, 'gateway-error');
  detector.record(a!, 'http-5xx');
  detector.record(a!, 'gateway-error');
  detector.record(a!, 'gateway-error');
  clock.advance(0);
  assert.deepEqual(events, []);
  detector.record(a!, 'gateway-error');
  clock.advance(0);
  assert.deepEqual(events, ['eject 10.0.0.1:80 consecutive-gateway-failure 30000']);
  // Local-origin errors count as gateway failures when not split.
  for (let i = 0; i < 3; i++) detector.record(b!, i % 2 ? 'timeout' : 'connect-failure');
  clock.advance(0);
  assert.equal(events[1], 'eject 10.0.0.2:80 consecutive-gateway-failure 30000');
});

test('Envoy default: gateway-failure ejection is not enforced unless its threshold is configured', () => {
  const { clock, hosts, events, skipped, detector } = setup({ consecutive5xx: 100, maxEjectionPercent: 50 });
  for (let i = 0; i < 5; i++) detector.record(hosts[0]!, 'gateway-error');
  clock.advance(0);
  assert.deepEqual(events, []);
  assert.deepEqual(skipped, ['10.0.0.1:80 consecutive-gateway-failure not-enforced']);
});

test('split local-origin errors: counted apart, a response resets them, 5xx counters untouched', () => {
  const { clock, hosts, events, detector } = setup({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 3, consecutive5xx: 3, maxEjectionPercent: 50 });
  const [a, b] = hosts;
  detector.record(a!, 'connect-failure');
  detector.record(a!, 'reset');
  detector.record(a!, 'http-5xx'); // the upstream answered: local origin success
  detector.record(a!, 'timeout');
  clock.advance(0);
  assert.deepEqual(events, []);
  assert.equal(a!.consecutive5xx, 1, 'only the real 5xx counts as 5xx');
  assert.equal(a!.consecutiveLocalOriginFailure, 1);
  for (let i = 0; i < 3; i++) detector.record(b!, 'connect-failure');
  clock.advance(0);
  assert.deepEqual(events, ['eject 10.0.0.2:80 consecutive-local-origin-failure 30000']);
  assert.equal(b!.consecutive5xx, 0);
});

test('maxEjectionPercent with the small-cluster rule: one of three goes at 10%, the second does not', () => {
  const { clock, hosts, events, skipped, detector } = setup({ consecutive5xx: 2, maxEjectionPercent: 10 });
  const [a, b] = hosts;
  detector.record(a!, 'http-5xx');
  detector.record(a!, 'http-5xx');
  detector.record(b!, 'http-5xx');
  detector.record(b!, 'http-5xx');
  clock.advance(0);
  assert.deepEqual(events, ['eject 10.0.0.1:80 consecutive-5xx 30000']);
  assert.deepEqual(skipped, ['10.0.0.2:80 consecutive-5xx overflow']);
  // Without the rule, nothing can be ejected from 3 endpoints at 10%.
  const strict = setup({ consecutive5xx: 2, maxEjectionPercent: 10, alwaysEjectOneHost: false });
  strict.detector.record(strict.hosts[0]!, 'http-5xx');
  strict.detector.record(strict.hosts[0]!, 'http-5xx');
  strict.clock.advance(0);
  assert.deepEqual(strict.events, []);
});

test('a detection refused by maxEjectionPercent is retried at the next interval once room frees up', () => {
  const { clock, hosts, events, detector } = setup({ consecutive5xx: 2, maxEjectionPercent: 34, interval: '10s', baseEjectionTime: '5s' });
  const [a, b] = hosts;
  detector.record(a!, 'http-5xx');
  detector.record(a!, 'http-5xx');
  detector.record(b!, 'http-5xx');
  detector.record(b!, 'http-5xx');
  clock.advance(0);
  assert.deepEqual(events, ['eject 10.0.0.1:80 consecutive-5xx 5000']);
  clock.advance(5000); // a returns
  assert.equal(events[1], 'uneject 10.0.0.1:80 ejection time elapsed');
  clock.advance(5000); // interval sweep at t=10s: b still over its threshold
  assert.equal(events[2], 'eject 10.0.0.2:80 consecutive-5xx 5000');
});

test('ejection time grows with each ejection, is capped, and decays after clean intervals', () => {
  const { clock, hosts, events, detector } = setup({ consecutive5xx: 1, interval: '10s', baseEjectionTime: '10s', maxEjectionTime: '25s', maxEjectionPercent: 50 });
  const a = hosts[0]!;
  const ejectFor = () => {
    detector.record(a, 'http-5xx');
    clock.advance(0);
    return Number(events.filter((e) => e.startsWith('eject')).at(-1)!.split(' ').at(-1));
  };
  const durations: number[] = [];
  for (let i = 0; i < 4; i++) {
    durations.push(ejectFor());
    clock.advance(a.ejection!.until - clock.now()); // back at once
  }
  assert.deepEqual(durations, [10_000, 20_000, 25_000, 25_000], 'base x 1, x 2, then capped at max');
  const peak = a.ejectionMultiplier;
  // It grows while base x m < max + base (10m < 35): 1, 2, 3, 4, then stays.
  assert.equal(peak, 4, 'multiplier stops growing past max + base');
  // Clean intervals: one step down per interval sweep after a whole interval back.
  clock.advance(10_000);
  clock.advance(10_000);
  assert.ok(a.ejectionMultiplier <= peak - 1, `decayed to ${a.ejectionMultiplier}`);
  clock.advance(60_000);
  assert.equal(a.ejectionMultiplier, 0);
  assert.equal(ejectFor(), 10_000, 'after full decay, back to the base time');
});

test('jitter is added to the ejection time, deterministically with a seeded rng', () => {
  const { clock, hosts, events, detector } = setup({ consecutive5xx: 1, baseEjectionTime: '10s', maxEjectionTimeJitter: '3s', maxEjectionPercent: 100 });
  for (const h of hosts) detector.record(h, 'http-5xx');
  clock.advance(0);
  const ms = events.map((e) => Number(e.split(' ').at(-1)));
  assert.equal(ms.length, 3);
  for (const m of ms) assert.ok(m >= 10_000 && m < 13_000, `${m}`);
  assert.ok(new Set(ms).size > 1, 'not the same jitter for everyone');
});

test('success-rate ejection at the interval, with the volume of the interval only', () => {
  const { clock, hosts, events, detector } = setup({ consecutive5xx: 0, successRateMinimumHosts: 5, successRateRequestVolume: 100, interval: '10s', maxEjectionPercent: 50 }, 6);
  for (let h = 0; h < 6; h++) {
    for (let i = 0; i < 100; i++) detector.record(hosts[h]!, h === 5 && i % 2 === 0 ? 'http-5xx' : 'success');
  }
  clock.advance(9_999);
  assert.deepEqual(events, []);
  clock.advance(1);
  assert.deepEqual(events, ['eject 10.0.0.6:80 success-rate 30000']);
  assert.equal(hosts[0]!.externalOk, 0, 'volumes reset each interval');
});

test('failure-percentage ejection when its threshold is configured (enforced by default then)', () => {
  const { clock, hosts, events, detector } = setup({ consecutive5xx: 0, failurePercentageThreshold: 50, failurePercentageMinimumHosts: 3, failurePercentageRequestVolume: 10, interval: '10s', maxEjectionPercent: 50 });
  for (let i = 0; i < 10; i++) {
    detector.record(hosts[0]!, 'success');
    detector.record(hosts[1]!, i < 6 ? 'http-5xx' : 'success');
    detector.record(hosts[2]!, i < 4 ? 'http-5xx' : 'success');
  }
  clock.advance(10_000);
  assert.deepEqual(events, ['eject 10.0.0.2:80 failure-percentage 30000']);
});

test('uneject() ends an ejection early and cancels its timer; a threshold of 0 disables a detector', () => {
  const { clock, hosts, events, detector } = setup({ consecutive5xx: 1, maxEjectionPercent: 100 });
  detector.record(hosts[0]!, 'http-5xx');
  clock.advance(0);
  detector.uneject(hosts[0]!, 'active check passed');
  clock.advance(60_000);
  assert.deepEqual(events, ['eject 10.0.0.1:80 consecutive-5xx 30000', 'uneject 10.0.0.1:80 active check passed']);
  const off = setup({ consecutive5xx: 0, consecutiveGatewayFailure: 0 });
  for (let i = 0; i < 50; i++) off.detector.record(off.hosts[0]!, 'gateway-error');
  off.clock.advance(30_000);
  assert.deepEqual(off.events, []);
});

test('stop() cancels timers: nothing fires afterwards', () => {
  const { clock, hosts, events, detector } = setup({ consecutive5xx: 1, maxEjectionPercent: 100 });
  detector.record(hosts[0]!, 'http-5xx');
  detector.stop();
  clock.advance(600_000);
  assert.deepEqual(events, []);
  assert.equal(clock.pending, 0);
});
