import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway } from '../../helpers/gateway-process.ts';
import { waitFor } from '../../helpers/wait.ts';

const config = (extra: Record<string, unknown> = {}) => ({
  node: { id: 'hup-1', region: 'jp' },
  listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
  clusters: [{ name: 'app', endpoints: ['127.0.0.1:9'] }],
  routes: [{ name: 'app', match: { path: { prefix: '/' } }, split: [{ cluster: 'app', weight: 1 }] }],
  admin: { address: '127.0.0.1:0' },
  ...extra,
});

async function rejected(adminUrl: string): Promise<number> {
  const text = await (await request(`${adminUrl}/metrics`)).body.text();
  const m = /^edgeplane_config_changes_total\{source="file",result="rejected"\} ([0-9]+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

test('a SIGHUP with a schema-invalid file counts in edgeplane_config_changes_total{result="rejected"}, like any other refused reload', async () => {
  const gw = await startGateway(config());
  try {
    assert.equal(await rejected(gw.adminUrl()), 0);
    gw.writeConfig(config({ colour: 'red' })); // unknown key: refused by the schema
    gw.proc.kill('SIGHUP');
    await waitFor(async () => (await rejected(gw.adminUrl())) === 1, { timeoutMs: 20_000, what: 'rejected reload counted' });
    const v = await request(`${gw.adminUrl()}/v1/config`);
    assert.equal(((await v.body.json()) as { version: number }).version, 1, 'the running config is unchanged');
  } finally {
    await gw.stop();
  }
});
