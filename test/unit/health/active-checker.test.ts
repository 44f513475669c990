import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { ManualClock } from '../../../src/util/clock.ts';
import { seededRng } from '../../../src/util/rng.ts';
import { ActiveChecker, type CheckReport, type ProbeResult, type ProbeTarget } from '../../../src/health/active-checker.ts';
import { resolveActiveCheck } from '../../../src/health/options.ts';
import type { NonNullableHealthCheck } from './types-helper.ts';

/** A probe whose answers the test hands out one by one. */
function scriptedProbe() {
  const calls: { target: ProbeTarget; signal: AbortSignal; at: number; answer(r: ProbeResult): void }[] = [];
  let clock: ManualClock;
  const probe = (target: ProbeTarget, signal: AbortSignal) =>
    new Promise<ProbeResult>((resolve) => {
      calls.push({ target, signal, at: clock.now(), answer: resolve });
    });
  return { calls, probe, bind: (c: ManualClock) => (clock = c) };
}

function setup(config: NonNullableHealthCheck, opts: { traffic?: boolean } = {}) {
  const clock = new ManualClock();
  const p = scriptedProbe();
  p.bind(clock);
  const reports: CheckReport[] = [];
  let traffic = opts.traffic ?? true;
  const checker = new ActiveChecker(resolveActiveCheck(config), {
    clock,
    rng: seededRng(3),
    probe: p.probe,
    hadTraffic: () => traffic,
    onCheck: (r) => reports.push(r),
  });
  const target = { address: '127.0.0.1:1', host: '127.0.0.1', port: 1 };
  return { clock, p, reports, checker, target, setTraffic: (v: boolean) => (traffic = v) };
}

const ok = { ok: true, detail: 'status 200' };
const bad = { ok: false, detail: 'status 503' };

test('a new endpoint is pending; its first check alone decides; then the thresholds apply', async () => {
  const { clock, p, reports, checker, target } = setup({ interval: '1s', jitter: '0s', healthyThreshold: 2, unhealthyThreshold: 3 });
  assert.equal(checker.add(target), 'pending');
  clock.advance(0);
  assert.equal(p.calls.length, 1, 'first check right away (no jitter)');
  p.calls[0]!.answer(ok);
  await tick();
  assert.deepEqual(reports.map((r) => [r.state, r.changed]), [['healthy', true]], 'one pass is enough for a new endpoint');
  // healthy -> unhealthy after 3 consecutive failures, a pass in between resets
  const answer = async (r: ProbeResult) => {
    clock.advance(1000);
    p.calls.at(-1)!.answer(r);
    await tick();
    return reports.at(-1)!.state;
  };
  assert.equal(await answer(bad), 'healthy');
  assert.equal(await answer(bad), 'healthy');
  assert.equal(await answer(ok), 'healthy');
  assert.equal(await answer(bad), 'healthy');
  assert.equal(await answer(bad), 'healthy');
  assert.equal(await answer(bad), 'unhealthy');
  // unhealthy -> healthy after 2 consecutive passes
  assert.equal(await answer(ok), 'unhealthy');
  assert.equal(await answer(ok), 'healthy');
  assert.equal(reports.filter((r) => r.changed).length, 3);
});

test('a failing first check makes a pending endpoint unhealthy; startHealthy starts it healthy', async () => {
  const a = setup({ interval: '1s', jitter: '0s' });
  a.checker.add(a.target);
  a.clock.advance(0);
  a.p.calls[0]!.answer(bad);
  await tick();
  assert.equal(a.reports[0]!.state, 'unhealthy');
  const b = setup({ interval: '1s', jitter: '0s', startHealthy: true, unhealthyThreshold: 2 });
  assert.equal(b.checker.add(b.target), 'healthy');
  b.clock.advance(0);
  b.p.calls[0]!.answer(bad);
  await tick();
  assert.equal(b.reports[0]!.state, 'healthy', 'one failure is below the threshold');
});

test('one check in flight per endpoint: the next starts an interval after the previous ended', async () => {
  const { clock, p, checker, target } = setup({ interval: '1s', timeout: '10s', jitter: '0s' });
  checker.add(target);
  clock.advance(0);
  clock.advance(5000);
  assert.equal(p.calls.length, 1, 'a slow check is not overlapped by the next');
  p.calls[0]!.answer(ok);
  await tick();
  clock.advance(999);
  assert.equal(p.calls.length, 1);
  clock.advance(1);
  assert.equal(p.calls.length, 2);
  assert.equal(p.calls[1]!.at, 6000);
});

test('a check that outlives its timeout fails and is aborted; its late answer is ignored', async () => {
  const { clock, p, reports, checker, target } = setup({ interval: '1s', timeout: '500ms', jitter: '0s', startHealthy: true, unhealthyThreshold: 1 });
  checker.add(target);
  clock.advance(0);
  clock.advance(500);
  assert.equal(p.calls[0]!.signal.aborted, true);
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!.passed, false);
  assert.match(reports[0]!.detail, /timeout after 500ms/);
  assert.equal(reports[0]!.state, 'unhealthy');
  p.calls[0]!.answer(ok); // too late
  await tick();
  assert.equal(reports.length, 1, 'the late pass does not count');
});

test('healthy endpoints of a cluster without traffic use the no-traffic interval; traffic brings them back', async () => {
  const { clock, p, checker, target, setTraffic } = setup({ interval: '2s', noTrafficInterval: '60s', jitter: '0s' }, { traffic: false });
  checker.add(target);
  clock.advance(0);
  p.calls[0]!.answer(ok);
  await tick();
  clock.advance(2000);
  assert.equal(p.calls.length, 1, 'healthy and idle: next check in 60s');
  setTraffic(true);
  checker.trafficStarted();
  clock.advance(2000);
  assert.equal(p.calls.length, 2, 'traffic started: back to the normal interval');
});

test('unhealthy endpoints are checked at the normal interval even without traffic (so they can join quickly)', async () => {
  const { clock, p, checker, target } = setup({ interval: '2s', noTrafficInterval: '60s', jitter: '0s' }, { traffic: false });
  checker.add(target);
  clock.advance(0);
  p.calls[0]!.answer(bad);
  await tick();
  clock.advance(2000);
  assert.equal(p.calls.length, 2);
});

test('jitter spreads checks within [interval, interval + jitter)', async () => {
  const { clock, p, checker } = setup({ interval: '1s', jitter: '300ms' });
  for (let i = 0; i < 20; i++) checker.add({ address: `127.0.0.1:${i + 1}`, host: '127.0.0.1', port: i + 1 });
  clock.advance(299);
  assert.equal(p.calls.length, 20, 'first checks all within the jitter');
  const firstAt = new Set(p.calls.map((c) => c.at));
  assert.ok(firstAt.size > 5, 'and not all at the same moment');
  const start = clock.now();
  for (const c of p.calls.splice(0)) c.answer(ok);
  await tick();
  clock.advance(1000 + 300);
  assert.equal(p.calls.length, 20);
  for (const c of p.calls) assert.ok(c.at - start >= 1000 && c.at - start < 1300, `next check after ${c.at - start}ms`);
});

test('remove() and stop() cancel timers and abort a check in flight', async () => {
  const { clock, p, checker, target } = setup({ interval: '1s', jitter: '0s' });
  checker.add(target);
  clock.advance(0);
  checker.remove(target);
  assert.equal(p.calls[0]!.signal.aborted, true);
  clock.advance(10_000);
  assert.equal(p.calls.length, 1);
  const other = { address: '127.0.0.1:2', host: '127.0.0.1', port: 2 };
  checker.add(other);
  checker.stop();
  clock.advance(10_000);
  assert.equal(p.calls.length, 1);
  assert.equal(clock.pending, 0);
});

test('a probe that throws synchronously or rejects is a failed check, not a crash', async () => {
  const clock = new ManualClock();
  const reports: CheckReport[] = [];
  let n = 0;
  const checker = new ActiveChecker(resolveActiveCheck({ interval: '1s', jitter: '0s' }), {
    clock,
    rng: seededRng(1),
    probe: () => {
      if (n++ === 0) throw new Error('boom');
      return Promise.reject(new Error('nope'));
    },
    hadTraffic: () => true,
    onCheck: (r) => reports.push(r),
  });
  checker.add({ address: 'x:1', host: 'x', port: 1 });
  clock.advance(0);
  await tick();
  clock.advance(1000);
  await tick();
  assert.deepEqual(reports.map((r) => r.detail), ['probe error: boom', 'probe error: nope']);
});
