import http from 'node:http';
import { rmSync } from 'node:fs';
import type { GatewayProcess } from '../../helpers/gateway-process.ts';

export interface RawAnswer {
  status: number;
  body: string;
}

/**
 * One admin request with exactly the headers given (Host, Origin and
 * Sec-Fetch-Site included, which fetch() will not let a caller set), as a
 * browser on another site or a rebinding page would send it.
 */
export function adminRequest(gw: GatewayProcess, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawAnswer> {
  const url = new URL(path, gw.adminUrl());
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, agent: false, setHost: headers.host === undefined && headers.Host === undefined, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The endpoints of a cluster as the admin API reports them (read as a same-origin client would). */
export async function clusterEndpoints(gw: GatewayProcess, cluster: string, token?: string): Promise<string[]> {
  const r = await adminRequest(gw, 'GET', '/v1/config', token ? { authorization: `Bearer ${token}` } : {});
  if (r.status !== 200) throw new Error(`GET /v1/config answered ${r.status}: ${r.body}`);
  const config = (JSON.parse(r.body) as { config: { clusters: { name: string; endpoints?: string[] }[] } }).config;
  return config.clusters.find((c) => c.name === cluster)?.endpoints ?? [];
}

/** Kills a test gateway and removes its temp dir (config, state, audit log). */
export async function stopAndRemove(gw: GatewayProcess | undefined): Promise<void> {
  if (!gw) return;
  await gw.stop('SIGKILL');
  rmSync(gw.dir, { recursive: true, force: true });
}
