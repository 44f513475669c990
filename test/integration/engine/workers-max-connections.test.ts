import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'undici';
import { startGateway } from '../../helpers/gateway-process.ts';
import { startServer } from '../../helpers/upstreams.ts';

/**
 * One DataPlane: workers build their pools with the same connection cap as the
 * single process (each its share of circuitBreaker.maxConnections), on both
 * engines. Before, worker pools had no cap and opened up to
 * connectionsPerEndpoint (128) connections each.
 */
for (const engine of ['node', 'native'] as const) {
  test(`workers: 2, engine ${engine}: maxConnections bounds the connections of the whole gateway`, async (t) => {
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
    const gw = await startGateway(
      {
        node: { id: `gw-maxconn-${engine}`, region: 'jp' },
        engine,
        workers: 2,
        listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
        admin: { address: '127.0.0.1:0' },
        clusters: [{ name: 'small', endpoints: [upstream.address], circuitBreaker: { maxConnections: 2, maxPendingRequests: 200, maxRequests: 200 } }],
        routes: [{ name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'small', weight: 1 }] }],
      },
      { timeoutMs: 170_000 },
    );
    t.after(() => gw.stop());
    // Many client connections, so both workers take a share of them.
    const agent = new Agent({ connections: 40, pipelining: 0 });
    t.after(() => agent.close());
    const statuses = await Promise.all(
      Array.from({ length: 80 }, async () => {
        const res = await request(gw.url('http') + '/', { dispatcher: agent, reset: true });
        await res.body.text();
        return res.statusCode;
      }),
    );
    assert.deepEqual([...new Set(statuses)], [200]);
    assert.ok(peak >= 1 && peak <= 2, `at most 2 upstream connections over both workers, saw ${peak}`);
  });
}
