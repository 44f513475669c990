/**
 * The demo's dns section (examples/demo.yaml, served on 127.0.0.1:5353 by
 * `npm start`) answers `dig @127.0.0.1 -p 5353 api.svc.plus A`. Served here on
 * an OS-chosen port so it can run beside a real demo.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../../src/config/load.ts';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { Rcode } from '../../../src/dns/wire/constants.ts';
import { startServer, udpQuery, tcpQuery } from './helpers.ts';

test('the demo zone answers api.svc.plus A with a region VIP', async () => {
  const config = loadConfigFile(fileURLToPath(new URL('../../../examples/demo.yaml', import.meta.url)), { env: {} });
  assert.deepEqual(config.dns!.listen, ['127.0.0.1:5353'], 'the demo contract: DNS on 127.0.0.1:5353');
  const dns = { ...config.dns!, listen: ['127.0.0.1:0'] };
  const s = await startServer(dns, { nodeRegion: config.node.region });
  try {
    const vips = new Set(config.dns!.zones[0]!.gtm![0]!.regions.flatMap((r) => r.vips));
    for (const r of [await udpQuery(s.port, buildQuery('api.svc.plus')), await tcpQuery(s.port, buildQuery('api.svc.plus'))]) {
      assert.equal(r.rcode, Rcode.NOERROR);
      assert.ok(r.aa);
      assert.equal(r.answers.length, 1);
      assert.ok(vips.has(r.answers[0]!.data), r.answers[0]!.data);
    }
    const jp = await udpQuery(s.port, buildQuery('api.svc.plus', { edns: { clientSubnet: '203.0.113.0/24' } }));
    assert.deepEqual(jp.answers.map((a) => a.data), ['203.0.113.10']);
  } finally {
    await s.server.close();
  }
});
