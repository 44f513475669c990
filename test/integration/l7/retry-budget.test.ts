import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { request, Agent } from 'undici';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';

/**
 * The retry budget, shown on a real gateway: every endpoint holds each request
 * until the test answers it, so how many requests and retries are in flight at
 * each decision is known, not guessed.
 */
let gw: GatewayProcess;
const upstreams: TestUpstream[] = [];
/** Requests the endpoints hold, in arrival order. */
const held: ServerResponse[] = [];
let arrivals = 0;
const agent = new Agent({ connections: 200 });

function config(extraRoute = false) {
  return {
    node: { id: 'gw-budget', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [
      // maxRetries is lifted so that only the retry budget limits retries.
      { name: 'holding', endpoints: upstreams.map((u) => u.address), circuitBreaker: { maxRetries: 10_000 } },
      { name: 'holding-unbudgeted', endpoints: upstreams.map((u) => u.address), circuitBreaker: { maxRetries: 10_000 } },
    ],
    routes: [
      { name: 'budgeted', match: { hosts: ['budget.test'] }, split: [{ cluster: 'holding', weight: 1 }], retries: { attempts: 1, on: ['503'], budgetPercent: 20 }, timeout: '60s' },
      { name: 'unbudgeted', match: { hosts: ['nobudget.test'] }, split: [{ cluster: 'holding-unbudgeted', weight: 1 }], retries: { attempts: 1, on: ['503'], budgetPercent: 100 }, timeout: '60s' },
      ...(extraRoute ? [{ name: 'added', match: { hosts: ['added.test'] }, split: [{ cluster: 'holding', weight: 1 }] }] : []),
    ],
  };
}

before(async () => {
  for (let i = 0; i < 2; i++) {
    upstreams.push(await startServer((req, res) => {
      arrivals++;
      req.resume();
      held.push(res);
    }));
  }
  gw = await startGateway(config());
});

after(async () => {
  for (const r of held.splice(0)) r.destroy();
  await gw?.stop();
  await agent.close();
  await Promise.all(upstreams.map((u) => u.close()));
});

function send(host: string): Promise<number> {
  return request(`${gw.url('http')}/x`, { headers: { host }, dispatcher: agent }).then(async (r) => {
    await r.body.text();
    return r.statusCode;
  });
}

/** Answers every request the endpoints hold right now. */
function answerHeld(status: number): number {
  const batch = held.splice(0);
  for (const r of batch) {
    r.writeHead(status, { 'content-type': 'text/plain' });
    r.end(status === 200 ? 'ok' : 'unavailable');
  }
  return batch.length;
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl()}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Sends `n` requests, waits until the endpoints hold all of them, fails them all with 503, and waits for the refused ones. */
async function burstThen503(host: string, n: number) {
  const before = arrivals;
  const statuses: number[] = [];
  const pending = Array.from({ length: n }, () => send(host).then((s) => (statuses.push(s), s)));
  await waitFor(() => held.length === n, { what: `${n} requests held`, timeoutMs: 20_000 });
  answerHeld(503);
  return { pending, statuses, firstAttempts: n, arrivalsBefore: before };
}

test('a burst of failing requests: retries only up to the budget, the rest fail fast with the upstream answer', async () => {
  const n = 40;
  const exhaustedBefore = await metric('edgeplane_retry_budget_exhausted_total', 'cluster="holding"');
  const { pending, statuses, arrivalsBefore } = await burstThen503('budget.test', n);
  // 40 requests in flight and 20% budget: at most 8 retries in flight. The others answer 503 now,
  // while the retries are still held by the endpoints (failing fast, not queued behind them).
  await waitFor(() => statuses.length + held.length === n, { what: 'every request either answered or retrying', timeoutMs: 20_000 });
  const retries = held.length;
  assert.ok(retries >= 3 && retries <= 8, `retries in flight: ${retries} (budget 20% of <= 40 active)`);
  assert.equal(arrivals - arrivalsBefore, n + retries, 'the endpoints saw each request once, plus the budgeted retries');
  assert.ok(statuses.every((s) => s === 503), 'requests refused a retry got the upstream\'s 503');
  assert.equal(await metric('edgeplane_retry_budget_exhausted_total', 'cluster="holding"') - exhaustedBefore, n - retries);
  // The retries succeed.
  answerHeld(200);
  const all = await Promise.all(pending);
  assert.equal(all.filter((s) => s === 200).length, retries);
  assert.equal(all.filter((s) => s === 503).length, n - retries);
});

test('without the budget (100%) the same burst retries every request', async () => {
  const n = 40;
  const { pending, statuses } = await burstThen503('nobudget.test', n);
  await waitFor(() => statuses.length + held.length === n && held.length > 0, { what: 'requests answered or retrying', timeoutMs: 20_000 });
  assert.equal(held.length, n, 'every request was retried');
  answerHeld(200);
  assert.deepEqual(new Set(await Promise.all(pending)), new Set([200]));
});

test('the budget survives a config apply: retries in flight before it still count after it', async () => {
  // 40 requests fail and up to 8 retries stay in flight (held) ...
  const first = await burstThen503('budget.test', 40);
  await waitFor(() => first.statuses.length + held.length === 40, { what: 'first burst settled', timeoutMs: 20_000 });
  const retriesInFlight = held.length;
  assert.ok(retriesInFlight >= 3, `retries in flight: ${retriesInFlight}`);
  const keep = held.splice(0);
  // ... a new config is applied (a route added; the cluster unchanged) ...
  const put = await fetch(`${gw.adminUrl()}/v1/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config(true)) });
  assert.equal(put.status, 200, await put.text());
  // ... and 10 new requests fail. In flight: 10 + the old retries, of which 20% is at most 3.6:
  // the old retries already exceed it, so none of the new requests may retry. (Before the
  // budget was kept per cluster across applies, the new table started from zero and let 3 through.)
  const n = 10;
  const second = await burstThen503('budget.test', n);
  await waitFor(() => second.statuses.length + held.length === n, { what: 'second burst answered or retrying', timeoutMs: 20_000 });
  assert.equal(held.length, 0, 'no retry was sent after the apply');
  assert.ok(second.statuses.every((s) => s === 503));
  for (const r of keep) {
    r.writeHead(200);
    r.end('ok');
  }
  const firstAll = await Promise.all(first.pending);
  assert.equal(firstAll.filter((s) => s === 200).length, retriesInFlight);
});
