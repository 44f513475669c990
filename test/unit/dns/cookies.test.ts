import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CookieJar, sipHash24 } from '../../../src/dns/cookies.ts';

test('SipHash-2-4 matches the reference vectors (Aumasson and Bernstein, appendix A)', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const out = Buffer.alloc(8);
  const msg = Uint8Array.from({ length: 64 }, (_, i) => i);
  sipHash24(key, msg, 15, out, 0);
  assert.equal(out.toString('hex'), 'e545be4961ca29a1');
  sipHash24(key, msg, 0, out, 0);
  assert.equal(out.toString('hex'), '310e0edd47db6f72');
  sipHash24(key, msg, 8, out, 0);
  assert.equal(out.toString('hex'), '6224939a79f5f593');
});

test('server cookies: made for one client and address, valid for an hour, rejected when altered or from another secret', () => {
  const secret = Buffer.from('e5e973e5a6b2a43f48e7dc849e37bfcf', 'hex');
  const jar = new CookieJar({ enabled: true, secrets: [secret] });
  const client = Buffer.from('2464c4abcf10c957', 'hex');
  const ip = Buffer.from([198, 51, 100, 100]);
  const out = Buffer.alloc(24);
  jar.write(client, 0, ip, 1559731985, out, 0);
  assert.equal(out.subarray(0, 8).toString('hex'), client.toString('hex'));
  assert.equal(out.subarray(8, 16).toString('hex'), '010000005cf79f11', 'version 1, reserved 0, the timestamp');
  assert.ok(jar.valid(out, 0, 8, 16, ip, 1559731985 + 10));
  assert.ok(jar.valid(out, 0, 8, 16, ip, 1559731985 + 3599));
  assert.ok(!jar.valid(out, 0, 8, 16, ip, 1559731985 + 3601), 'expired');
  assert.ok(!jar.valid(out, 0, 8, 16, Buffer.from([198, 51, 100, 101]), 1559731985), 'another client address');
  const tampered = Buffer.from(out);
  tampered[23]! ^= 1;
  assert.ok(!jar.valid(tampered, 0, 8, 16, ip, 1559731985));
  const other = new CookieJar({ enabled: true, secrets: [Buffer.alloc(16, 9)] });
  assert.ok(!other.valid(out, 0, 8, 16, ip, 1559731985));
  // rotation: the old secret is still accepted as the second one
  const rotated = new CookieJar({ enabled: true, secrets: [Buffer.alloc(16, 9), secret] });
  assert.ok(rotated.valid(out, 0, 8, 16, ip, 1559731985));
});
