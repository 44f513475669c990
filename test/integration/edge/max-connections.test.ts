import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'undici';
import { startGateway } from '../../helpers/gateway-process.ts';
import { startServer } from '../../helpers/upstreams.ts';

test('circuitBreaker.maxConnections bounds the connections to the cluster; requests beyond it wait and complete', async (t) => {
  let open = 0;
  let peak = 0;
  const upstream = await startServer((req, res) => {
    req.resume();
    setTimeout(() => res.end('ok'), 50);
  });
  upstream.server.on('connection', (socket) => {
    open++;
    peak = Math.max(peak, open);
    socket.on('close', () => open--);
  });
  t.after(() => upstream.close());
  const gw = await startGateway({
    node: { id: 'gw-maxconn', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'small', endpoints: [upstream.address], circuitBreaker: { maxConnections: 2, maxPendingRequests: 100, maxRequests: 100 } }],
    routes: [{ name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'small', weight: 1 }] }],
  });
  t.after(() => gw.stop());
  const agent = new Agent({ connections: 20 });
  t.after(() => agent.close());
  const statuses = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const res = await request(gw.url('http') + '/', { dispatcher: agent });
      await res.body.text();
      return res.statusCode;
    }),
  );
  assert.deepEqual([...new Set(statuses)], [200]);
  assert.ok(peak >= 1 && peak <= 2, `at most 2 upstream connections, saw ${peak}`);
});
