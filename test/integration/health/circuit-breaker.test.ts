import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { request, Agent } from 'undici';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';

// An upstream that holds every /hold request until the test lets it go.
const held: ServerResponse[] = [];
let hits503 = 0;
let upstream: TestUpstream;
let gw: GatewayProcess;
const agent = new Agent({ connections: 16 });

before(async () => {
  upstream = await startServer((req, res) => {
    req.resume();
    if (req.url === '/hold') return void held.push(res);
    if (req.url === '/503') {
      hits503++;
      res.writeHead(503).end('busy');
      return;
    }
    res.end('ok');
  });
  gw = await startGateway({
    node: { id: 'gw-cb', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [
      { name: 'max-requests', endpoints: [upstream.address], circuitBreaker: { maxRequests: 2 } },
      { name: 'max-pending', endpoints: [upstream.address], connectionsPerEndpoint: 1, circuitBreaker: { maxPendingRequests: 1 } },
      { name: 'no-retries', endpoints: [upstream.address], circuitBreaker: { maxRetries: 0 } },
      { name: 'retries', endpoints: [upstream.address] },
    ],
    routes: [
      { name: 'mr', match: { hosts: ['mr.test'] }, split: [{ cluster: 'max-requests', weight: 1 }] },
      { name: 'mp', match: { hosts: ['mp.test'] }, split: [{ cluster: 'max-pending', weight: 1 }] },
      { name: 'nr', match: { hosts: ['nr.test'] }, split: [{ cluster: 'no-retries', weight: 1 }], retries: { attempts: 1, on: ['503'] } },
      { name: 'r', match: { hosts: ['r.test'] }, split: [{ cluster: 'retries', weight: 1 }], retries: { attempts: 1, on: ['503'] } },
    ],
  });
});

after(async () => {
  for (const r of held.splice(0)) r.end();
  await gw?.stop();
  await upstream?.close();
  await agent.close();
});

function get(host: string, path: string) {
  return request(gw.url('http') + path, { headers: { host }, dispatcher: agent });
}

function releaseAll() {
  for (const r of held.splice(0)) r.end('released');
}

test('over maxRequests a request fails fast with 503 and x-edgeplane-overloaded: maxRequests', async () => {
  const first = [get('mr.test', '/hold'), get('mr.test', '/hold')];
  await waitFor(() => held.length === 2, { what: 'two requests held upstream' });
  const third = await get('mr.test', '/hold');
  assert.equal(third.statusCode, 503);
  assert.equal(third.headers['x-edgeplane-overloaded'], 'maxRequests');
  const body = (await third.body.json()) as { error: string };
  assert.equal(body.error, 'overloaded');
  assert.equal(held.length, 2, 'the refused request never reached the upstream');
  releaseAll();
  for (const r of await Promise.all(first)) {
    assert.equal(r.statusCode, 200);
    await r.body.dump();
  }
  const again = await get('mr.test', '/');
  assert.equal(again.statusCode, 200, 'units are given back when requests finish');
  await again.body.dump();
});

test('over maxPendingRequests (waiting for one of the endpoint\'s connections) a request fails fast', async () => {
  const running = get('mp.test', '/hold');
  await waitFor(() => held.length === 1, { what: 'the only connection busy' });
  const waiting = get('mp.test', '/hold'); // queued behind the busy connection: pending
  // The refused one must come back while the other two are still in flight.
  const refused = await waitFor(async () => {
    const r = await get('mp.test', '/hold');
    if (r.statusCode === 503) return r;
    await r.body.dump();
    return undefined;
  }, { what: 'a pending overflow' });
  assert.equal(refused.headers['x-edgeplane-overloaded'], 'maxPendingRequests');
  await refused.body.dump();
  releaseAll();
  const r1 = await running;
  await r1.body.dump();
  await waitFor(() => held.length === 1, { what: 'the queued request to reach the upstream' });
  releaseAll();
  const r2 = await waiting;
  assert.equal(r2.statusCode, 200);
  await r2.body.dump();
});

test('maxRetries 0: the retry is skipped and the upstream answer returned (no overload header)', async () => {
  hits503 = 0;
  const r = await get('nr.test', '/503');
  assert.equal(r.statusCode, 503);
  assert.equal(r.headers['x-edgeplane-overloaded'], undefined);
  await r.body.dump();
  assert.equal(hits503, 1, 'no retry');
  hits503 = 0;
  const r2 = await get('r.test', '/503');
  await r2.body.dump();
  assert.equal(hits503, 2, 'with the default limit the retry happens');
});
