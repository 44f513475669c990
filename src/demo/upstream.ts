import http from 'node:http';

export interface DemoUpstreamOptions {
  service: string;
  color: string;
  host?: string;
  port: number;
}

/**
 * A demo upstream: answers any path with JSON describing itself and the request,
 * plus /readyz, /slow?ms=N and /status/N for trying timeouts, retries and ejection.
 */
export function createDemoUpstream(options: DemoUpstreamOptions): http.Server {
  let endpoint = `${options.host ?? '127.0.0.1'}:${options.port}`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const describe = () => ({
      service: options.service,
      color: options.color,
      endpoint,
      method: req.method,
      path: req.url,
      headers: req.headers,
    });
    // Drain request bodies so uploads work and connections stay reusable.
    req.resume();
    req.on('end', () => {
      if (url.pathname === '/readyz') return reply(200, { status: 'ready', endpoint });
      if (url.pathname === '/slow') {
        const ms = Math.min(Number(url.searchParams.get('ms') ?? 1000) || 0, 120_000);
        const t = setTimeout(() => reply(200, { ...describe(), sleptMs: ms }), ms);
        res.on('close', () => clearTimeout(t));
        return;
      }
      const m = /^\/status\/([1-5][0-9][0-9])$/.exec(url.pathname);
      if (m) return reply(Number(m[1]), describe());
      reply(200, describe());
    });
  });
  server.keepAliveTimeout = 65_000;
  server.on('listening', () => {
    const a = server.address();
    if (a && typeof a === 'object') endpoint = `${a.address}:${a.port}`;
  });
  return server;
}

export function listen(server: http.Server, port: number, host = '127.0.0.1'): Promise<{ address: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(a && typeof a === 'object' ? { address: a.address, port: a.port } : { address: host, port });
    });
  });
}
