import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { bearerAuth, tokensEqual } from '../../../src/admin/auth.ts';
import { UnauthorizedError } from '../../../src/admin/errors.ts';
import { adminMetrics } from '../../../src/admin/metrics.ts';

const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as unknown as FastifyRequest;

async function count(reason: string): Promise<number> {
  const m = await adminMetrics.unauthorized.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

test('tokensEqual compares whole tokens of any length', () => {
  assert.equal(tokensEqual('abc', 'abc'), true);
  assert.equal(tokensEqual('abc', 'abd'), false);
  assert.equal(tokensEqual('abc', 'abcd'), false);
  assert.equal(tokensEqual('', 'abc'), false);
});

test('the bearer hook accepts the token and refuses missing, malformed and wrong ones, counting each', async () => {
  const check = bearerAuth(() => 'tok-123');
  await check(req('Bearer tok-123'));
  await check(req('bearer  tok-123'));
  const before = { missing: await count('missing'), malformed: await count('malformed'), invalid: await count('invalid') };
  await assert.rejects(check(req()), UnauthorizedError);
  await assert.rejects(check(req('Basic dG9rLTEyMw==')), UnauthorizedError);
  await assert.rejects(check(req('Bearer tok-1234')), UnauthorizedError);
  await assert.rejects(check(req('Bearer tok-123 extra')), UnauthorizedError);
  assert.equal(await count('missing'), before.missing + 1);
  assert.equal(await count('malformed'), before.malformed + 2);
  assert.equal(await count('invalid'), before.invalid + 1);
});

test('the token is read per request (a reload can rotate it); no token configured lets requests through', async () => {
  let token: string | undefined = 'old';
  const check = bearerAuth(() => token);
  await check(req('Bearer old'));
  token = 'new';
  await assert.rejects(check(req('Bearer old')), UnauthorizedError);
  await check(req('Bearer new'));
  token = undefined;
  await check(req());
});
