import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendOutcome, outcomeCode, replayOutcomes } from '../../../src/cluster/outcomes.ts';
import { RemoteDirectory } from '../../../src/cluster/remote-directory.ts';
import { sumMetrics } from '../../../src/cluster/control.ts';
import { resolveWorkers } from '../../../src/cluster/workers.ts';
import type { UpstreamOutcome } from '../../../src/health/types.ts';

test('outcome runs keep the order and compress repeats', () => {
  const seq: UpstreamOutcome[] = ['success', 'success', 'http-5xx', 'http-5xx', 'http-5xx', 'success', 'reset'];
  const runs: number[] = [];
  for (const o of seq) appendOutcome(runs, outcomeCode(o));
  assert.deepEqual(runs, [0, 2, 1, 3, 0, 1, 4, 1]);
  const back: UpstreamOutcome[] = [];
  replayOutcomes(runs, (o) => back.push(o));
  assert.deepEqual(back, seq);
  // Unknown codes (a newer worker) are skipped, not misread.
  const skipped: UpstreamOutcome[] = [];
  replayOutcomes([9, 3, 0, 1], (o) => skipped.push(o));
  assert.deepEqual(skipped, ['success']);
});

test('the remote directory keeps endpoint identity, batches outcomes and shares breaker limits', () => {
  const sent: [string, string, number[]][][] = [];
  const dir = new RemoteDirectory({ workers: 3, send: (b) => sent.push(b), flushMs: 60_000 });
  dir.configure([{ name: 'api', endpoints: [], circuitBreaker: { maxRequests: 10, maxPendingRequests: 1 } } as never]);
  dir.setTargets([{ name: 'api', available: true, panic: false, endpoints: ['127.0.0.1:1', '127.0.0.1:2'] }]);
  const [a, b] = dir.cluster('api')!.endpoints;
  assert.equal(a!.address, '127.0.0.1:1');
  a!.active = 2;
  // An ejection upstream: b leaves the target, a keeps its object (and its in-flight count).
  dir.setTargets([{ name: 'api', available: true, panic: false, endpoints: ['127.0.0.1:1'] }]);
  assert.equal(dir.cluster('api')!.endpoints[0], a);
  assert.equal(dir.cluster('api')!.endpoints[0]!.active, 2);

  dir.report(a!, 'success', 200);
  dir.report(a!, 'success', 200);
  dir.report(b!, 'gateway-error', 503);
  dir.report({ cluster: 'x', address: 'y', host: 'y', port: 1, active: 0 }, 'success', 200); // not ours: ignored
  dir.flush();
  assert.deepEqual(sent, [[['api', '127.0.0.1:1', [0, 2]], ['api', '127.0.0.1:2', [2, 1]]]]);
  dir.flush();
  assert.equal(sent.length, 1, 'nothing new, nothing sent');

  // ceil(10 / 3) = 4 requests per worker; a limit below the worker count still allows one.
  const breaker = dir.breaker('api')!;
  for (let i = 0; i < 4; i++) assert.equal(breaker.tryAcquire('request'), null);
  assert.equal(breaker.tryAcquire('request'), 'maxRequests');
  assert.equal(breaker.tryAcquire('pending'), null);
  assert.equal(breaker.tryAcquire('pending'), 'maxPendingRequests');

  assert.deepEqual(dir.forget([['api', '127.0.0.1:2']]).map((e) => e.address), ['127.0.0.1:2']);
  dir.configure([]);
  assert.equal(dir.cluster('api'), undefined);
  dir.close();
});

test('a breaker limit of 0 (maxRetries: 0) stays 0 in every worker', () => {
  const dir = new RemoteDirectory({ workers: 2, send: () => {}, flushMs: 60_000 });
  dir.configure([{ name: 'api', endpoints: [], circuitBreaker: { maxRetries: 0, maxRequests: 3 } } as never]);
  const breaker = dir.breaker('api')!;
  assert.equal(breaker.tryAcquire('retry'), 'maxRetries');
  assert.equal(breaker.tryAcquire('request'), null);
  assert.equal(breaker.tryAcquire('request'), null);
  assert.equal(breaker.tryAcquire('request'), 'maxRequests');
  dir.close();
});

test('retired worker metrics fold into one running sum', () => {
  const m = (value: number) => ({ name: 'c', help: 'h', type: 'counter' as const, aggregator: 'sum' as const, values: [{ labels: { worker: '1' }, value }] });
  const folded = sumMetrics([m(3), m(4)]);
  assert.equal(folded.length, 1);
  assert.equal(folded[0]!.values[0]!.value, 7);
});

test('workers: absent is one process, auto follows the CPUs', () => {
  assert.equal(resolveWorkers(undefined, {}), 1);
  assert.equal(resolveWorkers(3, {}), 3);
  assert.ok(resolveWorkers('auto', {}) >= 1);
});

test('workers: absent from the config, EDGEPLANE_WORKERS picks the count; the config wins', () => {
  assert.equal(resolveWorkers(undefined, { EDGEPLANE_WORKERS: '2' }), 2);
  assert.equal(resolveWorkers(undefined, { EDGEPLANE_WORKERS: '' }), 1);
  assert.equal(resolveWorkers(1, { EDGEPLANE_WORKERS: '2' }), 1);
  assert.throws(() => resolveWorkers(undefined, { EDGEPLANE_WORKERS: 'two' }), /EDGEPLANE_WORKERS/);
});
