// Fallback upstream when nginx is not installed: a minimal node http server.
import http from 'node:http';

const port = Number(process.argv[2]);
const body = '{"service":"bench","ok":true}';
http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  })
  .listen(port, '127.0.0.1');
