import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokenCircuitError, NoopPolicy, type IBackoff } from 'cockatiel';
import { isRecoverableError, GRPCUnavailableError } from 'etcd3';
import { etcdClientOptions, BREAKER_HALF_OPEN_MS, WATCH_BACKOFF_MAX_MS } from '../../../src/control/etcd-client.ts';
import { waitFor } from '../../helpers/wait.ts';

const base = { endpoints: ['http://127.0.0.1:2379/'], prefix: '/edgeplane/prod/' };

test('gRPC keepalive is on, with the configured interval and timeout', () => {
  const o = etcdClientOptions({ ...base, keepaliveInterval: '3s', keepaliveTimeout: '1500ms' }, '.');
  assert.equal(o.grpcOptions?.['grpc.keepalive_time_ms'], 3000);
  assert.equal(o.grpcOptions?.['grpc.keepalive_timeout_ms'], 1500);
  assert.equal(o.grpcOptions?.['grpc.keepalive_permit_without_calls'], 1);
  assert.deepEqual(o.hosts, ['http://127.0.0.1:2379']);
  const d = etcdClientOptions(base, '.');
  assert.equal(d.grpcOptions?.['grpc.keepalive_time_ms'], 5000, 'default matches etcd\'s default --grpc-keepalive-min-time');
});

test('no blind retries: the global policy is a no-op', () => {
  assert.ok(etcdClientOptions(base, '.').faultHandling?.global instanceof NoopPolicy);
});

test('the watch reconnect backoff never waits more than the cap', () => {
  let b = (etcdClientOptions(base, '.').faultHandling!.watchBackoff as unknown as { next(): IBackoff<unknown> }).next();
  let max = 0;
  for (let i = 0; i < 50; i++) {
    max = Math.max(max, b.duration);
    b = b.next(undefined);
  }
  assert.ok(max <= WATCH_BACKOFF_MAX_MS, `longest pause ${max}ms`);
  assert.ok(max > 0);
});

test('a member\'s circuit opens after 3 failures and lets a call through again after the short half-open delay', async () => {
  assert.ok(BREAKER_HALF_OPEN_MS <= 1000);
  const policy = etcdClientOptions(base, '.').faultHandling!.host!('127.0.0.1:2379');
  const unavailable = new GRPCUnavailableError('14 UNAVAILABLE: connection refused');
  assert.ok(isRecoverableError(unavailable));
  for (let i = 0; i < 3; i++) await assert.rejects(policy.execute(() => Promise.reject(unavailable)), GRPCUnavailableError);
  await assert.rejects(policy.execute(async () => 'ok'), BrokenCircuitError);
  await waitFor(async () => (await policy.execute(async () => 'ok').catch(() => null)) === 'ok', { timeoutMs: 5000, intervalMs: 50, what: 'the circuit to half-open' });
});
