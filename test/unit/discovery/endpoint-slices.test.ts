import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asEndpointSlice, sliceAddresses } from '../../../src/discovery/endpoint-slices.ts';
import { slice } from './fixtures.ts';
import { DiscoveryError } from '../../../src/discovery/errors.ts';

test('only ready endpoints; an absent ready condition counts as ready (the API says so)', () => {
  const s = slice('api-a', [{ ip: '10.1.0.1' }, { ip: '10.1.0.2', ready: false, terminating: true }, { ip: '10.1.0.3', ready: null }]);
  assert.deepEqual(sliceAddresses([s], undefined), ['10.1.0.1:8080', '10.1.0.3:8080']);
});

test('port by number, by name, or the only port; several ports without a choice is an error', () => {
  const two = slice('api-b', [{ ip: '10.1.0.1' }], [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }]);
  assert.deepEqual(sliceAddresses([two], 'metrics'), ['10.1.0.1:9090']);
  assert.deepEqual(sliceAddresses([two], 7000), ['10.1.0.1:7000']);
  assert.deepEqual(sliceAddresses([two], 'grpc'), [], 'a slice without the named port contributes nothing');
  assert.throws(() => sliceAddresses([two], undefined), (e: unknown) => e instanceof DiscoveryError && /set discovery.kubernetes.port/.test(e.message));
  const udpToo = slice('api-c', [{ ip: '10.1.0.1' }], [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'http', port: 80 }]);
  assert.deepEqual(sliceAddresses([udpToo], undefined), ['10.1.0.1:80'], 'UDP ports are not candidates');
});

test('IPv6 slices are bracketed; duplicates across slices collapse; null lists are empty', () => {
  const v6 = slice('api-v6', [{ ip: 'fd00::1' }], [{ port: 80 }], 'IPv6');
  const dup = slice('api-d', [{ ip: '10.1.0.1' }], [{ port: 80 }]);
  const dup2 = slice('api-e', [{ ip: '10.1.0.1' }], [{ port: 80 }]);
  const empty = { ...slice('api-f', []), endpoints: null, ports: null };
  assert.deepEqual(sliceAddresses([v6, dup, dup2, empty], undefined), ['10.1.0.1:80', '[fd00::1]:80']);
});

test('objects that are not EndpointSlices are refused', () => {
  assert.throws(() => asEndpointSlice({ kind: 'Status' }), DiscoveryError);
  assert.throws(() => asEndpointSlice({ metadata: { name: 'x' }, addressType: 'IPv4', endpoints: 'nope' }), DiscoveryError);
  assert.throws(() => asEndpointSlice(null), DiscoveryError);
});
