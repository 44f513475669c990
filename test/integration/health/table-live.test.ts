import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EndpointTable } from '../../../src/health/endpoint-table.ts';
import { seededRng } from '../../../src/util/rng.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeplane-live-'));
const upstreams: TestUpstream[] = [];
after(async () => {
  await Promise.all(upstreams.map((u) => u.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** A VM container: /readyz answers 200 while `ready`, 503 otherwise. */
async function container(): Promise<TestUpstream & { state: { ready: boolean } }> {
  const state = { ready: true };
  const up = await startServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.url === '/readyz') return void res.writeHead(state.ready ? 200 : 503).end(state.ready ? 'ready' : 'starting');
    res.end('app');
  });
  upstreams.push(up);
  return { ...up, state };
}

function writeEndpoints(path: string, addresses: string[]) {
  writeFileSync(`${path}.tmp`, addresses.join('\n') + '\n');
  renameSync(`${path}.tmp`, path);
}

test('a blue/green deploy script writing the endpoint file, with /readyz checks deciding who takes traffic', async () => {
  const blue = [await container(), await container()];
  const green = [await container(), await container()];
  const file = join(dir, 'api.endpoints');
  writeEndpoints(file, blue.map((u) => u.address));
  const table = new EndpointTable({ baseDir: dir, rng: seededRng(8), drainTimeoutMs: 60_000 });
  after(() => table.close());
  table.update([
    {
      name: 'api',
      discovery: { file: { path: 'api.endpoints', pollInterval: '200ms' } },
      healthCheck: { path: '/readyz', interval: '100ms', noTrafficInterval: '100ms', jitter: '20ms', timeout: '500ms', healthyThreshold: 2, unhealthyThreshold: 2 },
    },
  ]);
  const live = () => table.cluster('api')!.endpoints.map((e) => e.address).sort();
  const states = () => Object.fromEntries(table.healthReport().clusters[0]!.endpoints.map((e) => [e.address, e.state]));

  await waitFor(() => table.cluster('api')!.available && !table.cluster('api')!.panic && live().length === 2, { what: 'blue healthy' });
  assert.deepEqual(live(), blue.map((u) => u.address).sort());

  // The script starts green, which is not ready yet, and switches the file over.
  for (const g of green) g.state.ready = false;
  writeEndpoints(file, green.map((u) => u.address));
  await waitFor(() => Object.keys(states()).length === 4, { what: 'green listed, blue draining' });
  for (const b of blue) assert.equal(states()[b.address], 'draining');
  for (const g of green) assert.equal(states()[g.address], 'unhealthy');
  assert.equal(table.cluster('api')!.available, false, 'nothing ready: the split would send this cluster\'s share elsewhere');
  // Green becomes ready: one passing check each is enough for new endpoints.
  for (const g of green) g.state.ready = true;
  await waitFor(() => table.cluster('api')!.available && live().length === 2 && !table.cluster('api')!.panic, { what: 'green healthy' });
  assert.deepEqual(live(), green.map((u) => u.address).sort());
  // Blue had no requests in flight: it leaves the report at the next drain sweep.
  await waitFor(() => Object.keys(states()).length === 2, { what: 'blue drained' });

  // A green container stops being ready: out after unhealthyThreshold failures, back after healthyThreshold passes.
  green[0]!.state.ready = false;
  await waitFor(() => states()[green[0]!.address] === 'unhealthy', { what: 'readiness failure noticed' });
  assert.deepEqual(live(), [green[1]!.address], '1 of 2 healthy is not below the 50% panic threshold');
  const ep = table.healthReport().clusters[0]!.endpoints.find((e) => e.address === green[0]!.address)!;
  assert.equal(ep.reason, 'active check failed: status 503');
  green[0]!.state.ready = true;
  await waitFor(() => live().length === 2, { what: 'back in rotation' });
});
