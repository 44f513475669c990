import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createHttpProbe } from '../../../src/health/http-probe.ts';
import { tcpProbe } from '../../../src/health/tcp-probe.ts';
import { ActiveChecker, type CheckReport } from '../../../src/health/active-checker.ts';
import { resolveActiveCheck } from '../../../src/health/options.ts';
import { systemClock } from '../../../src/util/clock.ts';
import { seededRng } from '../../../src/util/rng.ts';
import { waitFor } from '../../helpers/wait.ts';

const servers: (http.Server | net.Server)[] = [];
after(() => {
  for (const s of servers) {
    (s as http.Server).closeAllConnections?.();
    s.close();
  }
});

async function listen<T extends http.Server | net.Server>(server: T): Promise<{ host: string; port: number; address: string }> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { host: '127.0.0.1', port, address: `127.0.0.1:${port}` };
}

const seen: { url: string; host: string | undefined; ua: string | undefined }[] = [];
const main = await listen(
  http.createServer((req, res) => {
    seen.push({ url: req.url!, host: req.headers.host, ua: req.headers['user-agent'] });
    if (req.url === '/readyz') return res.end('ok');
    if (req.url === '/down') return (res.statusCode = 503), res.end('no');
    if (req.url === '/redirect') return res.writeHead(302, { location: '/readyz' }).end();
    if (req.url === '/split') {
      res.write('xxxx rea');
      setTimeout(() => res.end('dy yyyy'), 20);
      return;
    }
    if (req.url === '/big-headers') return res.writeHead(200, { 'x-junk': 'a'.repeat(100_000) }).end();
    res.statusCode = 404;
    res.end();
  }),
);

const probeOf = (o: Partial<Parameters<typeof createHttpProbe>[0]>) =>
  createHttpProbe({ path: '/readyz', host: undefined, expectedStatuses: [[200, 299]], bodyMatch: undefined, ...o });

test('HTTP checks: pass on 2xx, fail on other statuses and on redirects (not followed)', async () => {
  const { probe, close } = probeOf({});
  assert.deepEqual(await probe(main, new AbortController().signal), { ok: true, detail: 'status 200' });
  const down = probeOf({ path: '/down' });
  assert.deepEqual(await down.probe(main, new AbortController().signal), { ok: false, detail: 'status 503' });
  const redirect = probeOf({ path: '/redirect' });
  assert.deepEqual(await redirect.probe(main, new AbortController().signal), { ok: false, detail: 'status 302' });
  const accept503 = probeOf({ path: '/down', expectedStatuses: [[503, 503]] });
  assert.equal((await accept503.probe(main, new AbortController().signal)).ok, true);
  await Promise.all([close(), down.close(), redirect.close(), accept503.close()]);
});

test('HTTP checks send the configured Host header and identify themselves', async () => {
  seen.length = 0;
  const { probe, close } = probeOf({ host: 'api.svc.plus' });
  await probe(main, new AbortController().signal);
  assert.equal(seen[0]!.host, 'api.svc.plus');
  assert.match(seen[0]!.ua!, /^edgeplane-health-check/);
  const plain = probeOf({});
  await plain.probe(main, new AbortController().signal);
  assert.equal(seen[1]!.host, main.address, 'default Host: the endpoint address');
  await Promise.all([close(), plain.close()]);
});

test('body match: found across chunk boundaries, missing is a failure', async () => {
  const hit = probeOf({ path: '/split', bodyMatch: 'ready' });
  assert.deepEqual(await hit.probe(main, new AbortController().signal), { ok: true, detail: 'status 200, body matched' });
  const miss = probeOf({ bodyMatch: 'healthy' });
  const r = await miss.probe(main, new AbortController().signal);
  assert.equal(r.ok, false);
  assert.match(r.detail, /does not contain "healthy"/);
  await Promise.all([hit.close(), miss.close()]);
});

test('a health endpoint returning megabytes: the check reads at most 64 KiB and cuts the connection', async () => {
  const total = 64 * 1024 * 1024;
  let written = 0;
  let closedEarly = false;
  const big = await listen(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (closedEarly = written < total));
      pump();
    }),
  );
  for (const bodyMatch of ['never-there', undefined]) {
    written = 0;
    closedEarly = false;
    const { probe, close } = probeOf({ bodyMatch });
    const r = await probe(big, new AbortController().signal);
    if (bodyMatch) assert.equal(r.ok, false);
    else assert.equal(r.ok, true, 'status 200 without a body match passes, body dropped');
    await waitFor(() => closedEarly, { what: 'the server to see the connection closed' });
    assert.ok(written < total / 4, `only ${written} of ${total} bytes were ever sent`);
    await close();
  }
});

test('garbage instead of HTTP, oversized headers and refused connections are failed checks', async () => {
  const garbage = await listen(net.createServer((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n')));
  const g = probeOf({});
  const r1 = await g.probe(garbage, new AbortController().signal);
  assert.equal(r1.ok, false);
  assert.match(r1.detail, /invalid HTTP response|connection closed/);
  const h = probeOf({ path: '/big-headers' });
  const r2 = await h.probe(main, new AbortController().signal);
  assert.equal(r2.ok, false);
  const closedPort = await listen(net.createServer());
  await new Promise<void>((r) => servers.pop()!.close(() => r()));
  const r3 = await g.probe(closedPort, new AbortController().signal);
  assert.deepEqual(r3, { ok: false, detail: 'connect ECONNREFUSED' });
  await Promise.all([g.close(), h.close()]);
});

test('a hanging health endpoint: the checker times the check out and the socket is released', async () => {
  let open = 0;
  const hang = await listen(
    http.createServer((req) => {
      open++;
      req.socket.on('close', () => open--);
    }),
  );
  const options = resolveActiveCheck({ interval: '60s', timeout: '150ms', jitter: '0s', startHealthy: true, unhealthyThreshold: 1 });
  const { probe, close } = probeOf({});
  const reports: CheckReport[] = [];
  const checker = new ActiveChecker(options, { clock: systemClock, rng: seededRng(1), probe, hadTraffic: () => true, onCheck: (r) => reports.push(r) });
  checker.add({ address: hang.address, host: hang.host, port: hang.port });
  await waitFor(() => reports.length > 0, { what: 'the check to time out' });
  assert.equal(reports[0]!.passed, false);
  assert.equal(reports[0]!.detail, 'timeout after 150ms');
  assert.equal(reports[0]!.state, 'unhealthy');
  await waitFor(() => open === 0, { what: 'the aborted check to close its connection' });
  checker.stop();
  await close();
});

test('TCP checks: a completed handshake passes, a refused one fails', async () => {
  const up = await listen(net.createServer((s) => s.end()));
  assert.deepEqual(await tcpProbe(up, new AbortController().signal), { ok: true, detail: 'connected' });
  const gone = await listen(net.createServer());
  await new Promise<void>((r) => servers.pop()!.close(() => r()));
  assert.deepEqual(await tcpProbe(gone, new AbortController().signal), { ok: false, detail: 'connect ECONNREFUSED' });
  const ac = new AbortController();
  ac.abort();
  assert.deepEqual(await tcpProbe(up, ac.signal), { ok: false, detail: 'aborted' });
});
