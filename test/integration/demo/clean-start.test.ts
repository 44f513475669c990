import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { request } from 'undici';
import { startGateway } from '../../helpers/gateway-process.ts';
import { waitFor } from '../../helpers/wait.ts';
import { createDemoUpstream, listen, AttemptLog } from '../../../src/demo/upstream.ts';

/**
 * The demo's own shape on OS-chosen ports (the demo test needs the fixed
 * ports free): health-checked clusters start without a warning, and /flaky
 * shows a retry — the first attempt's 503 is retried on another endpoint.
 */
test('a healthy start logs no warning (awaiting first check and start-up panic are info); /flaky shows the retry in x-demo-attempt', async () => {
  const attempts = new AttemptLog();
  const servers: Server[] = [];
  const ports: number[] = [];
  for (const color of ['blue', 'blue', 'green']) {
    const s = createDemoUpstream({ service: 'api', color, port: 0, attempts });
    servers.push(s);
    ports.push((await listen(s, 0)).port);
  }
  const gw = await startGateway({
    node: { id: 'demo-like', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    clusters: [
      { name: 'api-blue', endpoints: [`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`], healthCheck: { path: '/readyz', interval: '500ms', timeout: '1s', healthyThreshold: 2, unhealthyThreshold: 3 } },
      { name: 'api-green', endpoints: [`127.0.0.1:${ports[2]}`], healthCheck: { path: '/readyz', interval: '500ms', timeout: '1s' } },
    ],
    routes: [{ name: 'api', match: { hosts: ['api.svc.plus'] }, split: [{ cluster: 'api-blue', weight: 1 }], retries: { attempts: 2, on: ['connect-failure', 'reset', '503'], budgetPercent: 20 } }],
    admin: { address: '127.0.0.1:0', token: 'demo-like-token' },
  }, { env: { EDGEPLANE_LOG_LEVEL: 'info' }, timeoutMs: 180_000 });
  try {
    // Every endpoint healthy: the start-up is over.
    await waitFor(async () => {
      const res = await request(`${gw.adminUrl()}/v1/health`, { headers: { authorization: 'Bearer demo-like-token' } });
      const body = (await res.body.json()) as { clusters: { endpoints: { state: string }[] }[] };
      return body.clusters.every((c) => c.endpoints.every((e) => e.state === 'healthy'));
    }, { timeoutMs: 30_000, what: 'all endpoints healthy' });
    const lines = gw.output().split('\n').filter((l) => l.startsWith('{'));
    assert.ok(lines.some((l) => /awaiting first active check/.test(l)), 'the start-up states are still logged');
    const warnings = lines.filter((l) => /"level":(40|50|60)/.test(l));
    assert.deepEqual(warnings, [], 'no warning on a healthy start');

    const res = await request(`${gw.url('http')}/flaky`, { headers: { host: 'api.svc.plus' } });
    const body = (await res.body.json()) as { attempt: number; endpoint: string };
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-demo-attempt'], '2');
    assert.equal(body.attempt, 2);
    // Without a retry the client sees the first attempt's 503.
    const direct = await request(`http://127.0.0.1:${ports[2]}/flaky`, { headers: { 'x-request-id': 'no-gateway-1' } });
    assert.equal(direct.statusCode, 503);
    assert.equal(direct.headers['x-demo-attempt'], '1');
    await direct.body.text();
  } finally {
    await gw.stop();
    for (const s of servers) s.close();
  }
});
