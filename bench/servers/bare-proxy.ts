// The floor for a Node proxy: node:http in, undici Pool.dispatch out, headers
// copied, body streamed, nothing else (no routing, no metrics, no header policy).
// The proxy scenario reports edgeplane's CPU per request against it.
// Usage: node bench/servers/bare-proxy.ts PORT UPSTREAM_PORT   (runs under tsx too)
import http from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const [port, upstreamPort] = process.argv.slice(2).map(Number);
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 128, pipelining: 1 });

class Handler implements Dispatcher.DispatchHandler {
  readonly res: http.ServerResponse;
  resume: (() => void) | null = null;
  constructor(res: http.ServerResponse) {
    this.res = res;
  }
  onConnect(): void {}
  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    this.resume = resume;
    const flat: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!.toString('latin1');
      if (k.length === 10 && k.toLowerCase() === 'connection') continue;
      flat.push(k, raw[i + 1]!.toString('latin1'));
    }
    this.res.writeHead(status, flat);
    return true;
  }
  onData(chunk: Buffer): boolean {
    const ok = this.res.write(chunk);
    if (!ok) this.res.once('drain', this.resume!);
    return ok;
  }
  onComplete(): void {
    this.res.end();
  }
  onError(): void {
    if (!this.res.headersSent) this.res.writeHead(502).end();
    else this.res.destroy();
  }
}

http
  .createServer((req, res) => {
    const headers: string[] = [];
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') continue;
      headers.push(raw[i]!, raw[i + 1]!);
    }
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    pool.dispatch({ path: req.url!, method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? (req as never) : null }, new Handler(res));
  })
  .listen(port, '127.0.0.1');

// A clean exit on SIGTERM, so --cpu-prof can write its profile.
process.on('SIGTERM', () => process.exit(0));
