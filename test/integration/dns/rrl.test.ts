import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { decodeMessage, type DecodedMessage } from '../../../src/dns/wire/decode.ts';
import { Rcode } from '../../../src/dns/wire/constants.ts';
import { ManualClock } from '../../../src/util/clock.ts';
import { startServer, testConfig, udpQuery, tcpQuery, eventually } from './helpers.ts';

/** Fires `n` queries from one socket and collects what comes back until `settleMs` passes without a reply. */
async function burst(port: number, n: number, mk: (i: number) => Buffer): Promise<DecodedMessage[]> {
  const sock = dgram.createSocket('udp4');
  const replies: DecodedMessage[] = [];
  let last = Date.now();
  sock.on('message', (m) => {
    replies.push(decodeMessage(m));
    last = Date.now();
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  for (let i = 0; i < n; i++) sock.send(mk(i), port, '127.0.0.1');
  // replies stop arriving once every query was handled; dropped ones never come
  await eventually(() => Date.now() - last > 250, 5000, 'replies to settle');
  sock.close();
  return replies;
}

test('UDP NXDOMAIN floods are limited per client prefix: slip to TC=1, drop the rest; TCP is never limited', async () => {
  const clock = new ManualClock();
  const s = await startServer(testConfig({ rrl: { nxdomainsPerSecond: 4, slip: 2 } }), { clock });
  try {
    const replies = await burst(s.port, 20, (i) => buildQuery(`nx${i}.svc.plus`, { id: i }));
    const full = replies.filter((r) => !r.tc);
    const slipped = replies.filter((r) => r.tc);
    assert.equal(full.length, 4, 'the burst allowance');
    assert.ok(full.every((r) => r.rcode === Rcode.NXDOMAIN && r.authority.length === 1));
    assert.equal(slipped.length, 8, 'every 2nd of the 16 limited');
    assert.ok(slipped.every((r) => r.answers.length === 0 && r.authority.length === 0 && r.questions.length === 1));
    // positive answers are not limited by default
    for (let i = 0; i < 30; i++) assert.equal((await udpQuery(s.port, buildQuery('static.svc.plus'))).rcode, Rcode.NOERROR);
    // TCP proves the source address; never limited
    assert.equal((await tcpQuery(s.port, buildQuery('nx-tcp.svc.plus'))).rcode, Rcode.NXDOMAIN);
    // time refills the bucket
    clock.advance(1000);
    const later = await burst(s.port, 4, (i) => buildQuery(`later${i}.svc.plus`, { id: i }));
    assert.equal(later.filter((r) => !r.tc).length, 4);
  } finally {
    await s.server.close();
  }
});
