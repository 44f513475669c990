import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecrets, restoreSecrets, newSecretIssues, REDACTED } from '../../../src/control/secrets.ts';
import { sampleConfig } from './fixtures.ts';

test('redaction replaces the admin token, JWT secrets and gossip keys, in a copy', () => {
  const c = sampleConfig();
  const r = redactSecrets(c);
  assert.equal(r.admin?.token, REDACTED);
  assert.equal(r.jwt?.providers[0]?.secret, REDACTED);
  assert.deepEqual(r.gossip?.keys, [REDACTED]);
  assert.equal(c.admin?.token, 'admin-secret-token', 'the original is not touched');
  const text = JSON.stringify(r);
  for (const secret of ['admin-secret-token', 'hmac-secret', 'a2V5LW9u']) assert.equal(text.includes(secret), false, secret);
});

test('placeholders are restored from the first source that has the value (JWT by provider name)', () => {
  const current = sampleConfig();
  const candidate = redactSecrets(sampleConfig()) as unknown as { jwt: { providers: { name: string; secret: string }[] } };
  // Reordered providers still find their own secret.
  candidate.jwt.providers.unshift({ name: 'other', secret: REDACTED } as never);
  const issues = restoreSecrets(candidate, [current]);
  assert.deepEqual(issues.map((i) => i.path), ['jwt.providers[0].secret']);
  assert.equal(candidate.jwt.providers[1]!.secret, current.jwt!.providers[0]!.secret);
  const other = sampleConfig({ jwt: { providers: [{ name: 'other', issuer: 'x', secret: 'other-secret-value-long-enough-0123456789' }] } });
  const again = redactSecrets(sampleConfig()) as unknown as { jwt: { providers: { name: string; secret: string }[] } };
  again.jwt.providers.unshift({ name: 'other', secret: REDACTED } as never);
  assert.deepEqual(restoreSecrets(again, [current, other]), []);
  assert.equal(again.jwt.providers[0]!.secret, 'other-secret-value-long-enough-0123456789');
});

test('a literal secret is accepted only when it is already in force', () => {
  const current = sampleConfig();
  assert.deepEqual(newSecretIssues(sampleConfig(), [current]), []);
  assert.deepEqual(newSecretIssues(redactSecrets(sampleConfig()), [current]), []);
  const changed = sampleConfig({ gossip: { bind: '127.0.0.1:7946', seeds: [], keys: ['bmV3LWtleQ=='] } });
  assert.deepEqual(newSecretIssues(changed, [current]).map((i) => i.path), ['gossip.keys[0]']);
});

test('restore and checks ignore bodies that are not shaped like a config', () => {
  assert.deepEqual(restoreSecrets(null, [sampleConfig()]), []);
  assert.deepEqual(restoreSecrets({ jwt: 'x', gossip: { keys: 'y' } }, [sampleConfig()]), []);
  assert.deepEqual(newSecretIssues([1, 2], [sampleConfig()]), []);
});
