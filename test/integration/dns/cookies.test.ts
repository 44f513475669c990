import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { decodeMessage } from '../../../src/dns/wire/decode.ts';
import { Rcode } from '../../../src/dns/wire/constants.ts';
import { startServer, testConfig, udpExchange, udpQuery, type Started } from './helpers.ts';
import { which } from './unbound.ts';

const execFileAsync = promisify(execFile);
const SECRET = '0f0e0d0c0b0a09080706050403020100';
const servers: Started[] = [];
after(async () => {
  for (const s of servers) await s.server.close();
});
async function start(extra: Parameters<typeof testConfig>[0] = {}): Promise<Started> {
  const s = await startServer(testConfig({ cookies: { secret: SECRET }, ...extra }));
  servers.push(s);
  return s;
}
const CLIENT = Buffer.from('0123456789abcdef', 'hex');
const withCookie = (name: string, cookie: Buffer) => buildQuery(name, { edns: { options: [{ code: 10, data: cookie }] } });
const cookieOf = (r: ReturnType<typeof decodeMessage>) => r.opt?.options.find((o) => o.code === 10)?.data;

test('a client cookie gets our server cookie back; the pair is accepted by every server with the same secret', async () => {
  const a = await start();
  const b = await start();
  const first = await udpQuery(a.port, withCookie('static.svc.plus', CLIENT));
  assert.equal(first.rcode, Rcode.NOERROR);
  const cookie = cookieOf(first)!;
  assert.equal(cookie.length, 24);
  assert.ok(cookie.subarray(0, 8).equals(CLIENT), 'the client cookie echoed');
  assert.equal(cookie[8], 1, 'RFC 9018 version 1');
  // a server cookie from server a is valid at server b (same secret): both answer normally
  const again = await udpQuery(b.port, withCookie('static.svc.plus', cookie));
  assert.equal(again.rcode, Rcode.NOERROR);
  assert.equal(again.answers.length, 2);
  assert.ok(cookieOf(again)!.subarray(0, 8).equals(CLIENT));
  // a malformed COOKIE option is FORMERR
  assert.equal((await udpQuery(a.port, withCookie('static.svc.plus', Buffer.alloc(5)))).rcode, Rcode.FORMERR);
  // cookies are in error replies too
  assert.equal(cookieOf(await udpQuery(a.port, withCookie('example.org', CLIENT)))?.length, 24);
});

test('RRL: a valid server cookie is never limited; a client cookie alone gets BADCOOKIE instead of silence; no cookie is limited', async () => {
  const s = await start({ rrl: { nxdomainsPerSecond: 1, slip: 0 } });
  const first = await udpQuery(s.port, withCookie('nope1.svc.plus', CLIENT));
  const cookie = cookieOf(first)!;
  let answered = 0;
  for (let i = 0; i < 20; i++) {
    const r = await udpExchange(s.port, withCookie(`valid${i}.svc.plus`, cookie), '127.0.0.1', 300);
    if (r && decodeMessage(r).rcode === Rcode.NXDOMAIN) answered++;
  }
  assert.equal(answered, 20, 'every NXDOMAIN answered with a valid cookie');
  let badcookie = 0;
  for (let i = 0; i < 5; i++) {
    const r = await udpExchange(s.port, withCookie(`client-only${i}.svc.plus`, CLIENT), '127.0.0.1', 300);
    assert.ok(r, 'a reply, not a drop');
    const m = decodeMessage(r);
    if (m.rcode === 23 && m.opt?.extendedRcode === 1) {
      badcookie++;
      assert.equal(cookieOf(m)?.length, 24, 'BADCOOKIE carries a fresh server cookie');
    }
  }
  assert.ok(badcookie >= 4, `BADCOOKIE once limited (${badcookie})`);
  let dropped = 0;
  for (let i = 0; i < 5; i++) if (!(await udpExchange(s.port, buildQuery(`plain${i}.svc.plus`), '127.0.0.1', 200))) dropped++;
  assert.ok(dropped >= 4, `queries without a cookie are limited (${dropped} dropped)`);
});

test('dig +cookie sees a good server cookie', async (t) => {
  const dig = which('dig');
  if (!dig) return t.skip('dig is not installed (apt-get install bind9-dnsutils)');
  const s = await start();
  const { stdout } = await execFileAsync(dig, ['@127.0.0.1', '-p', String(s.port), '+cookie', 'static.svc.plus', 'A']);
  assert.match(stdout, /COOKIE: [0-9a-f]{16}[0-9a-f]{32} \(good\)/);
});
