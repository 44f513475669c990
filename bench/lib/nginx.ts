import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, waitForPort, type Running } from './proc.ts';
import { pin } from './tools.ts';

const COMMON = (prefix: string) => `
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
`;

function prefixDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  return dir;
}

async function run(conf: string, prefix: string, core: number, port: number): Promise<Running> {
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, conf);
  const p = start([...pin(core), 'nginx', '-p', prefix, '-c', file]);
  await waitForPort(port, '127.0.0.1', 10_000, p);
  return p;
}

/** A tiny static upstream: every path answers 200 with a small JSON body. */
export function nginxUpstream(port: number, core: number): Promise<Running> {
  const prefix = prefixDir();
  const conf = `${COMMON(prefix)}
  server {
    listen 127.0.0.1:${port};
    location / { default_type application/json; return 200 '{"service":"bench","ok":true}'; }
  }
}`;
  return run(conf, prefix, core, port);
}

/** The anchor's proxying, as every nginx anchor that proxies uses it (upstream `backend`, keepalive, no buffering). */
const PROXY_TO_BACKEND = `
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_request_buffering off;
      proxy_buffering off;`;

/** nginx as the anchor proxy: 1 worker, proxy_pass with upstream keepalive, optionally TLS and HTTP/2. */
export function nginxProxy(options: { port: number; upstreamPort: number; core: number; tls?: { cert: string; key: string; http2?: boolean } }): Promise<Running> {
  const prefix = prefixDir();
  const listen = options.tls
    ? `listen 127.0.0.1:${options.port} ssl${options.tls.http2 ? ' http2' : ''};
    ssl_certificate ${options.tls.cert};
    ssl_certificate_key ${options.tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;`
    : `listen 127.0.0.1:${options.port};`;
  const conf = `${COMMON(prefix)}
  upstream backend { server 127.0.0.1:${options.upstreamPort}; keepalive 128; }
  client_max_body_size 0;
  server {
    ${listen}
    location / {${PROXY_TO_BACKEND}
    }
  }
}`;
  return run(conf, prefix, options.core, options.port);
}

/**
 * nginx as the rate-limit anchor: one worker, two virtual hosts on one port.
 * `plainHost` proxies as nginxProxy does; `refuseHost` is behind `limit_req`
 * at 1 request per minute with no burst (nginx's smallest rate), keyed by the
 * client address, answering 429: after its first request every request is
 * refused, as the gateway's refuse-all route does.
 */
export function nginxRateLimited(options: { port: number; upstreamPort: number; core: number; plainHost: string; refuseHost: string }): Promise<Running> {
  const prefix = prefixDir();
  const proxy = PROXY_TO_BACKEND;
  const conf = `${COMMON(prefix)}
  upstream backend { server 127.0.0.1:${options.upstreamPort}; keepalive 128; }
  limit_req_zone $binary_remote_addr zone=refuse:1m rate=1r/m;
  limit_req_status 429;
  limit_req_log_level info;
  server {
    listen 127.0.0.1:${options.port};
    server_name ${options.plainHost};
    location / {${proxy}
    }
  }
  server {
    listen 127.0.0.1:${options.port};
    server_name ${options.refuseHost};
    location / {
      limit_req zone=refuse;${proxy}
    }
  }
}`;
  return run(conf, prefix, options.core, options.port);
}
