import http from 'node:http';

export interface DemoUpstreamOptions {
  service: string;
  color: string;
  host?: string;
  port: number;
  /** Shared by the upstreams of one demo: how many attempts of each request (by X-Request-Id) they have seen. */
  attempts?: AttemptLog;
}

/**
 * Counts the attempts of each request over every demo upstream, by the
 * X-Request-Id the gateway keeps across retries, so `/flaky` can fail the first
 * attempt and the answer can say which attempt succeeded.
 */
export class AttemptLog {
  readonly #seen = new Map<string, number>();
  next(id: string | undefined): number {
    if (!id) return 1;
    const n = (this.#seen.get(id) ?? 0) + 1;
    this.#seen.delete(id);
    this.#seen.set(id, n);
    // Bounded: the oldest ids go first.
    if (this.#seen.size > 10_000) this.#seen.delete(this.#seen.keys().next().value!);
    return n;
  }
}

/**
 * A demo upstream: answers any path with JSON describing itself and the request,
 * plus /readyz, /slow?ms=N and /status/N for trying timeouts, retries and ejection,
 * and /flaky: 503 on a request's first attempt, 200 on the retry, with the
 * attempt number in the body and the `x-demo-attempt` header.
 */
export function createDemoUpstream(options: DemoUpstreamOptions): http.Server {
  let endpoint = `${options.host ?? '127.0.0.1'}:${options.port}`;
  const attempts = options.attempts ?? new AttemptLog();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
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
      if (url.pathname === '/flaky') {
        const attempt = attempts.next(req.headers['x-request-id'] as string | undefined);
        return reply(attempt === 1 ? 503 : 200, { ...describe(), attempt }, { 'x-demo-attempt': String(attempt) });
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
