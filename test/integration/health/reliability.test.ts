import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import autocannon from 'autocannon';
import { request as undiciRequest, Agent } from 'undici';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, startUpstream, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';

/**
 * The reliability figures, through the whole gateway (child process,
 * real loopback upstreams): counted, never timed.
 */
const TOKEN = 'health-reliability-token';

/** An upstream whose answer the test can switch between 200 and 500 (all paths: it has no separate readiness). */
async function switchable(name: string): Promise<TestUpstream & { state: { fail: boolean; hits: number } }> {
  const state = { fail: false, hits: 0 };
  const up = await startServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    state.hits++;
    res.writeHead(state.fail ? 500 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name }));
  });
  return { ...up, state };
}

interface HealthReport {
  clusters: { name: string; available: boolean; endpoints: { address: string; state: string; reason: string; ejections: number }[] }[];
}

test('reliability: kill one of three under load, eject a 500-answering endpoint and reinstate it, a dead canary loses its share', async (t) => {
  const three = await Promise.all([startUpstream('a'), startUpstream('b'), startUpstream('c')]);
  const ok1 = await switchable('ok1');
  const ok2 = await switchable('ok2');
  const bad = await switchable('bad');
  const blue = await startUpstream('blue');
  const canary = await switchable('canary');
  const agent = new Agent({ connections: 4 });
  const gw: GatewayProcess = await startGateway({
    node: { id: 'gw-reliability', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0', token: TOKEN },
    clusters: [
      {
        name: 'three',
        endpoints: three.map((u) => u.address),
        healthCheck: { path: '/readyz', interval: '1s', timeout: '500ms', unhealthyThreshold: 2, startHealthy: true },
        // Circuit breakers at their defaults (maxRetries 3 concurrent retries, as in Envoy).
        outlierDetection: { consecutive5xx: 5, consecutiveGatewayFailure: 5, interval: '5s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      },
      { name: 'flaky', endpoints: [ok1.address, ok2.address, bad.address], outlierDetection: { consecutive5xx: 5, interval: '10s', baseEjectionTime: '2s', maxEjectionPercent: 50 } },
      { name: 'blue', endpoints: [blue.address] },
      { name: 'green', endpoints: [canary.address], outlierDetection: { consecutive5xx: 5, baseEjectionTime: '60s' } },
    ],
    routes: [
      { name: 'three', match: { hosts: ['three.test'] }, split: [{ cluster: 'three', weight: 1 }], retries: { attempts: 2, on: ['connect-failure', 'reset'], budgetPercent: 100 } },
      // No retries: every 500 reaches the client and is counted.
      { name: 'flaky', match: { hosts: ['flaky.test'] }, split: [{ cluster: 'flaky', weight: 1 }] },
      { name: 'canary', match: { hosts: ['canary.test'] }, split: [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }] },
    ],
  });
  t.after(async () => {
    await gw.stop('SIGKILL');
    await agent.close();
    await Promise.all([...three, ok1, ok2, bad, blue, canary].map((u) => u.close().catch(() => {})));
  });

  const health = async (): Promise<HealthReport> => {
    const r = await undiciRequest(`${gw.adminUrl()}/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` }, dispatcher: agent });
    assert.equal(r.statusCode, 200);
    return (await r.body.json()) as HealthReport;
  };
  const endpointState = async (cluster: string, address: string) => (await health()).clusters.find((c) => c.name === cluster)!.endpoints.find((e) => e.address === address);
  const get = async (host: string) => {
    const r = await undiciRequest(gw.url('http') + '/', { headers: { host }, dispatcher: agent });
    await r.body.dump();
    return r.statusCode;
  };

  await t.test('killing one of three endpoints under autocannon load costs at most 0.1% of requests', async (t) => {
    await waitFor(async () => (await health()).clusters.find((c) => c.name === 'three')!.endpoints.every((e) => e.state === 'healthy'), { what: 'three healthy endpoints' });
    const victim = three[2]!;
    const instance = autocannon({ url: gw.url('http') + '/', headers: { host: 'three.test' }, connections: 8, duration: 6 });
    const kill = setTimeout(() => void victim.close(), 1500);
    const result = await instance;
    clearTimeout(kill);
    const failed = result.non2xx + result.errors + result.timeouts;
    const attempted = result.requests.total + result.errors + result.timeouts;
    const share = failed / attempted;
    t.diagnostic(`kill 1 of 3 under load: ${attempted} requests, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts -> ${(share * 100).toFixed(3)}% failed`);
    assert.ok(attempted > 200, `enough load to mean something (${attempted})`);
    assert.ok(share <= 0.001, `client-visible failure share ${(share * 100).toFixed(3)}% > 0.1%`);
    const st = await endpointState('three', victim.address);
    assert.ok(st && (st.state === 'ejected' || st.state === 'unhealthy'), `the dead endpoint is out of rotation (${st?.state}: ${st?.reason})`);
    t.diagnostic(`dead endpoint: ${st!.state} (${st!.reason})`);
  });

  await t.test('an endpoint answering 500 is ejected after 5 failures and reinstated once it recovers', async (t) => {
    bad.state.fail = true;
    let errors = 0;
    for (let i = 0; i < 60; i++) if ((await get('flaky.test')) === 500) errors++;
    const st = await endpointState('flaky', bad.address);
    t.diagnostic(`500-answering endpoint: ${errors} of 60 sequential requests failed; then ${st!.state} (${st!.reason})`);
    assert.equal(st!.state, 'ejected');
    assert.equal(st!.reason, 'consecutive-5xx');
    assert.ok(errors >= 5, 'it takes 5 consecutive failures');
    assert.ok(errors <= 7, `ejected right after the 5th failure, not an interval later (${errors} failures)`);
    const metrics = await (await undiciRequest(`${gw.adminUrl()}/metrics`, { dispatcher: agent })).body.text();
    assert.match(metrics, /edgeplane_outlier_ejections_total\{cluster="flaky",reason="consecutive-5xx"\} 1/);
    assert.match(metrics, new RegExp(`edgeplane_endpoint_healthy\\{cluster="flaky",endpoint="${bad.address.replace(/\./g, '\\.')}"\\} 0`));

    bad.state.fail = false;
    await waitFor(async () => (await endpointState('flaky', bad.address))!.state === 'healthy', { what: 'reinstatement after the ejection time' });
    const before = bad.state.hits;
    let failedAfter = 0;
    for (let i = 0; i < 30; i++) if ((await get('flaky.test')) !== 200) failedAfter++;
    assert.equal(failedAfter, 0);
    assert.ok(bad.state.hits - before >= 5, `the reinstated endpoint takes its share again (${bad.state.hits - before} of 30)`);
  });

  await t.test('a split whose canary answers 500 gives the canary\'s weight to the others once it is ejected', async (t) => {
    canary.state.fail = true;
    let errors = 0;
    const n = 300;
    for (let i = 0; i < n; i++) if ((await get('canary.test')) !== 200) errors++;
    const green = (await health()).clusters.find((c) => c.name === 'green')!;
    t.diagnostic(`dead canary (weight 10 of 100): ${errors} of ${n} requests failed (without ejection: about ${n / 10})`);
    assert.equal(green.available, false);
    assert.ok(errors >= 5 && errors <= 7, `only the failures before the ejection reach clients (${errors})`);
  });
});
