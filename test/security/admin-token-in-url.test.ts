/**
 * Finding 11 of issue #20: an admin token sent as `?token=` was refused, but
 * the full URL, token included, was written to audit.log and to the
 * gateway's log. A log is read by more people than the token is meant for.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.ts';
import { waitFor } from '../helpers/wait.ts';
import { adminRequest, stopAndRemove } from './lib/control-admin.ts';

const TOKEN = 'real-admin-token-4b1d';
// Distinct values, so a hit says which request leaked.
const IN_QUERY = 'Qtoken-5e1f0c2a9d';
const IN_QUERY_2 = 'Qsecret-77aa01bc';
const BARE = 'Qbare-c0ffee99';

let gw: GatewayProcess;
before(async () => {
  gw = await startGateway(
    {
      node: { id: 'gw-sec', region: 'jp' },
      // A gateway must serve something (edgeplane refuses a config without listeners or dns).
      listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
      clusters: [{ name: 'blue', endpoints: ['127.0.0.1:9'] }],
      routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 100 }] }],
      admin: { address: '127.0.0.1:0', token: TOKEN, stateDir: './state' },
    },
    // info: the level at which audit lines reach the log.
    { env: { EDGEPLANE_LOG_LEVEL: 'info' } },
  );
});
after(() => stopAndRemove(gw));

test('a token in the query string is refused and lands in neither audit.log nor the gateway log', async () => {
  // Refused (401): the token is only read from the Authorization header.
  const refused = await adminRequest(gw, 'GET', `/v1/config?token=${IN_QUERY}`);
  assert.equal(refused.status, 401);
  const refusedWrite = await adminRequest(gw, 'DELETE', `/v1/clusters/blue/endpoints?address=127.0.0.1:9&access_token=${IN_QUERY_2}&${BARE}`);
  assert.equal(refusedWrite.status, 401);
  // Accepted write with a stray secret beside a real parameter: the parameter the audit needs is kept.
  const accepted = await adminRequest(gw, 'DELETE', `/v1/clusters/blue/endpoints?address=10.9.9.9:80&token=${IN_QUERY}`, { authorization: `Bearer ${TOKEN}` });
  assert.equal(accepted.status, 400, accepted.body); // not an endpoint of the cluster: rejected, and audited

  const audit = join(gw.dir, 'state', 'audit.log');
  const auditLines = (): string[] => (existsSync(audit) ? readFileSync(audit, 'utf8').trim().split('\n').filter(Boolean) : []);
  await waitFor(() => auditLines().length >= 3, { what: 'three audit lines' });
  const lines = auditLines();
  await waitFor(() => (gw.output().match(/admin audit/g) ?? []).length >= 3, { what: 'three audit lines in the gateway log' });
  const log = gw.output();
  for (const secret of [IN_QUERY, IN_QUERY_2, BARE, TOKEN]) {
    assert.ok(!lines.join('\n').includes(secret), `audit.log holds ${secret}:\n${lines.join('\n')}`);
    assert.ok(!log.includes(secret), `the gateway log holds ${secret}`);
  }
  // The audit trail still says what was tried, and where.
  const entries = lines.map((l) => JSON.parse(l) as { url: string; status: number });
  assert.deepEqual(entries.map((e) => e.status), [401, 401, 400]);
  assert.match(entries[0]!.url, /^\/v1\/config\?token=\[redacted\]$/);
  assert.match(entries[1]!.url, /address=127\.0\.0\.1:9/);
  assert.match(entries[2]!.url, /^\/v1\/clusters\/blue\/endpoints\?address=10\.9\.9\.9:80&token=\[redacted\]$/);
});
