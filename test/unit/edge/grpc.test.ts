import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGrpcTimeout, grpcToHttpStatus, httpToGrpcStatus, encodeGrpcMessage, isGrpcRequest } from '../../../src/edge/grpc.ts';

test('grpc-timeout values per the gRPC spec; malformed ones ignored', () => {
  assert.equal(parseGrpcTimeout('250m'), 250);
  assert.equal(parseGrpcTimeout('5S'), 5000);
  assert.equal(parseGrpcTimeout('2M'), 120_000);
  assert.equal(parseGrpcTimeout('1H'), 3_600_000);
  assert.equal(parseGrpcTimeout('1500u'), 2);
  assert.equal(parseGrpcTimeout('10n'), 1, 'never 0: that would mean no timeout');
  for (const bad of [undefined, '', 'S', '5', '5s', '123456789S', '-1S', '1.5S', ['5S']]) assert.equal(parseGrpcTimeout(bad as string), undefined, String(bad));
});

test('status mappings both ways', () => {
  assert.deepEqual([0, 4, 8, 12, 13, 14, 16].map(grpcToHttpStatus), [200, 504, 429, 501, 500, 503, 401]);
  assert.deepEqual([401, 403, 404, 429, 502, 503, 504, 500].map(httpToGrpcStatus), [16, 7, 12, 8, 14, 14, 4, 2]);
});

test('grpc-message percent-encoding and content-type detection', () => {
  assert.equal(encodeGrpcMessage('no route for "x" 100%'), 'no route for "x" 100%25');
  assert.equal(encodeGrpcMessage('caf\u00e9\n'), 'caf%C3%A9%0A');
  assert.equal(isGrpcRequest('application/grpc+proto'), true);
  assert.equal(isGrpcRequest('application/json'), false);
});
