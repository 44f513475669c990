import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findGrpcStatus, describeLocal, forwardTrailers } from '../../../src/edge/grpc-relay.ts';
import type { Http2ServerResponse } from 'node:http2';

test('grpc-status is read from strings and Buffers, in any case; absent or malformed is -1', () => {
  assert.equal(findGrpcStatus(['content-type', 'application/grpc', 'Grpc-Status', '14']), 14);
  assert.equal(findGrpcStatus([Buffer.from('grpc-status'), Buffer.from('0')]), 0);
  assert.equal(findGrpcStatus(['content-type', 'application/grpc']), -1);
  assert.equal(findGrpcStatus(['grpc-status', 'x']), -1);
  assert.equal(findGrpcStatus(['grpc-status', '-1']), -1);
});

test('the gateway\'s JSON answer becomes a grpc-message', () => {
  assert.equal(describeLocal('{"error":"invalid_token","error_description":"expired"}'), 'invalid_token: expired');
  assert.equal(describeLocal('{}'), 'refused');
  assert.equal(describeLocal('not json'), 'refused');
});

test('trailers for an HTTP/2 client: hop-by-hop names dropped, repeated names joined', () => {
  let got: Record<string, string> | null = null;
  const res = { addTrailers: (t: Record<string, string>) => (got = t) } as unknown as Http2ServerResponse;
  forwardTrailers(res, ['Grpc-Status', '0', 'x-a', '1', 'X-A', '2', 'connection', 'close']);
  assert.deepEqual(got, { 'grpc-status': '0', 'x-a': '1, 2' });
});
