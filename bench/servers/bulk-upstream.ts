// Upstream for the large-body scenario. PUT/POST /upload reads the whole body
// and answers {"bytes":N}; GET /download?bytes=N streams N bytes (a repeated
// 64 KiB block, with backpressure) and a content-length. Nothing is buffered.
// Usage: node --import tsx bench/servers/bulk-upstream.ts PORT
import http from 'node:http';

const port = Number(process.argv[2]);
const block = Buffer.alloc(64 * 1024, 'edgeplane-bulk-');

http
  .createServer((req, res) => {
    if (req.method === 'PUT' || req.method === 'POST') {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        const body = JSON.stringify({ bytes });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    req.resume();
    const want = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes') ?? 0);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': want });
    let left = want;
    const pump = () => {
      while (left > 0) {
        const chunk = left >= block.length ? block : block.subarray(0, left);
        left -= chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  })
  .listen(port, '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
