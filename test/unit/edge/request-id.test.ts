import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RequestIds } from '../../../src/edge/request-id.ts';
import { isValidRequestId } from '../../../src/edge/http-util.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('ids have the UUID v4 text form and pass the gateway\'s own request-id check', () => {
  const ids = new RequestIds();
  for (let i = 0; i < 1000; i++) {
    const id = ids.next();
    assert.match(id, UUID_V4);
    assert.ok(isValidRequestId(id));
  }
});

test('ids are distinct across blocks; a new random block starts every 65,536 ids', () => {
  let blocks = 0;
  const ids = new RequestIds(() => {
    blocks++;
    return randomUUID();
  });
  const seen = new Set<string>();
  for (let i = 0; i < 3 * 65536 + 5; i++) seen.add(ids.next());
  assert.equal(seen.size, 3 * 65536 + 5);
  assert.equal(blocks, 4);
});

test('within a block the last four hex digits count from 0000 to ffff', () => {
  const ids = new RequestIds(() => '01234567-89ab-4cde-8f01-23456789abcd');
  assert.equal(ids.next(), '01234567-89ab-4cde-8f01-234567890000');
  assert.equal(ids.next(), '01234567-89ab-4cde-8f01-234567890001');
  for (let i = 2; i < 0xffff; i++) ids.next();
  assert.equal(ids.next(), '01234567-89ab-4cde-8f01-23456789ffff');
});
