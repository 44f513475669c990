import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { request, Agent } from 'undici';
import { cliPath, repoRoot } from '../../helpers/gateway-process.ts';
import { waitFor } from '../../helpers/wait.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const DEMO_PORTS = [8080, 8443, 9901, 9101, 9102, 9201];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

test('edgeplane demo: the contract ports answer, the api route splits about 90/10 blue/green', async (t) => {
  const busy = [];
  for (const p of DEMO_PORTS) if (!(await portFree(p))) busy.push(p);
  if (busy.length > 0) {
    t.skip(`demo ports in use on this machine: ${busy.join(', ')}`);
    return;
  }
  const readyFile = join(tempDir('edgeplane-demo-'), 'ready.json');
  const proc = spawn(process.execPath, ['--import', 'tsx', cliPath, 'demo', '--ready-file', readyFile], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const agent = new Agent({ connections: 2 });
  try {
    await waitFor(() => {
      if (proc.exitCode !== null) throw new Error(`demo exited:\n${out}`);
      return existsSync(readyFile);
    }, { timeoutMs: 20_000, what: 'demo ready' });
    const ready = JSON.parse(readFileSync(readyFile, 'utf8'));
    assert.deepEqual(ready.listeners.map((l: { port: number }) => l.port).sort(), [8080, 8443]);
    assert.equal(ready.admin.port, 9901);
    assert.match(out, /curl -s -H 'Host: api\.svc\.plus' http:\/\/127\.0\.0\.1:8080\/hello/);
    assert.match(out, /http:\/\/127\.0\.0\.1:8080\/flaky +# 1st attempt 503, retried/);
    // Endpoints are pending until their first active check; until then a split hands
    // an unavailable cluster's weight to the others, so the exact 90/10 sequence below
    // holds only once both clusters are available.
    await waitFor(async () => {
      const res = await request('http://127.0.0.1:9901/metrics');
      const text = await res.body.text();
      return /edgeplane_cluster_healthy_endpoints\{cluster="api-blue"\} 2\b/.test(text) && /edgeplane_cluster_healthy_endpoints\{cluster="api-green"\} 1\b/.test(text);
    }, { timeoutMs: 20_000, what: 'demo clusters healthy' });
    const flaky = await request('http://127.0.0.1:8080/flaky', { headers: { host: 'api.svc.plus' }, dispatcher: agent });
    assert.equal(flaky.statusCode, 200);
    assert.equal(flaky.headers['x-demo-attempt'], '2');
    await flaky.body.text();
    const counts: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const res = await request('http://127.0.0.1:8080/hello', { headers: { host: 'api.svc.plus' }, dispatcher: agent });
      const body = (await res.body.json()) as { service: string; color: string; endpoint: string; method: string; path: string; headers: object };
      assert.equal(res.statusCode, 200);
      assert.deepEqual(Object.keys(body), ['service', 'color', 'endpoint', 'method', 'path', 'headers']);
      counts[body.color] = (counts[body.color] ?? 0) + 1;
    }
    assert.deepEqual(counts, { blue: 180, green: 20 });
    for (const path of ['/readyz', '/slow?ms=5', '/status/418']) {
      const res = await request(`http://127.0.0.1:910${path === '/readyz' ? 1 : 2}${path}`);
      await res.body.text();
      assert.equal(res.statusCode, path === '/status/418' ? 418 : 200);
    }
    const readyz = await request('http://127.0.0.1:9901/readyz');
    assert.equal(readyz.statusCode, 200);
    await readyz.body.text();
    // A healthy demo start prints no warning (the demo logs at warn and above).
    assert.doesNotMatch(out, /"level":(40|50|60)/);
  } finally {
    await agent.close();
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
  }
});
